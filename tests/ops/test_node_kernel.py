"""The newest kernel installed on a node, from /nodes/{n}/apt/versions rows (what the node
detail pane shows beside the running kernel: a reboot boots it)."""

from __future__ import annotations

from console.ops.node_detail import newest_kernel
from console.sim.pve_render_ops import apt_versions


def test_newest_kernel_orders_numerically_and_skips_meta_packages():
    rows = [{"Package": "proxmox-ve", "RunningKernel": "6.8.12-9-pve"},
            {"Package": "proxmox-kernel-6.8", "Version": "6.8.12-10"},  # the meta package: no release in its name
            {"Package": "proxmox-kernel-helper", "Version": "8.1.0"},
            {"Package": "proxmox-kernel-6.8.12-9-pve-signed", "Version": "6.8.12-9"},
            {"Package": "proxmox-kernel-6.8.12-10-pve-signed", "Version": "6.8.12-10"},  # 10 > 9, not "1" < "9"
            {"Package": "pve-kernel-5.15.158-2-pve", "Version": "5.15.158-2"}, "not a row"]
    assert newest_kernel(rows) == "6.8.12-10-pve"
    assert newest_kernel([{"Package": "pve-manager"}]) == ""


def test_newest_kernel_reads_the_sims_answer():
    class Node:  # what pve_render_ops.apt_versions reads of a simulated node
        kernel, pve_version = "6.8.12-4-pve", "8.2.4"
        packages = {"proxmox-ve": "8.2.0", "pve-manager": "8.2.4", "proxmox-kernel-6.8": "6.8.12-5",
                    "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4", "proxmox-kernel-6.8.12-5-pve-signed": "6.8.12-5"}

    assert newest_kernel(apt_versions(Node())) == "6.8.12-5-pve"
