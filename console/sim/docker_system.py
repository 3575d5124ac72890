"""The engine-level Docker objects of a simulated manager: /info (with its Swarm part) and /version."""

from __future__ import annotations

from console.sim.docker_objects import (
    ENGINE_API_VERSION,
    MIN_API_VERSION,
    SWARM_PORT,
    fake_id,
    guest_for,
    node_json,
    rfc3339,
)


def swarm_info(world, own) -> dict:
    """The Swarm part of /info for the manager `own` (a SimSwarmNode)."""
    nodes = list(world.swarm_nodes.values())
    managers = [n for n in nodes if n.role == "manager"]
    created = min((n.created_at for n in nodes), default=0.0)
    return {
        "NodeID": own.id,
        "NodeAddr": own.addr,
        "LocalNodeState": "active",
        "ControlAvailable": own.role == "manager",
        "Error": "",
        "RemoteManagers": [{"NodeID": n.id, "Addr": f"{n.addr}:{SWARM_PORT}"} for n in managers],
        "Nodes": len(nodes),
        "Managers": len(managers),
        "Cluster": {
            "ID": fake_id("cluster:" + world.cluster_name),
            "Version": {"Index": 42},
            "CreatedAt": rfc3339(created),
            "UpdatedAt": rfc3339(created),
            "Spec": {
                "Name": "default",
                "Labels": {},
                "Orchestration": {"TaskHistoryRetentionLimit": 5},
                "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
                         "ElectionTick": 10, "HeartbeatTick": 1},
                "Dispatcher": {"HeartbeatPeriod": 5_000_000_000},
                "CAConfig": {"NodeCertExpiry": 7_776_000_000_000_000},
                "TaskDefaults": {},
                "EncryptionConfig": {"AutoLockManagers": False},
            },
            "TLSInfo": node_json(world, own)["Description"]["TLSInfo"],
            "RootRotationInProgress": False,
            "DataPathPort": 4789,
            "DefaultAddrPool": ["10.0.0.0/8"],
            "SubnetSize": 24,
        },
    }


def system_info(world, own) -> dict:
    guest = guest_for(world, own.hostname)
    running = sum(1 for t in world.tasks.values() if t.node_id == own.id and t.state == "running")
    total = sum(1 for t in world.tasks.values() if t.node_id == own.id)
    return {
        "ID": fake_id("engine:" + own.id, 36).upper(),
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": total - running,
        "Images": len({t.image for t in world.tasks.values() if t.node_id == own.id}),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "overlay"], "Log": ["json-file", "journald"]},
        "MemoryLimit": True,
        "SwapLimit": False,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "Debug": False,
        "NFd": 42,
        "NGoroutines": 180,
        "SystemTime": rfc3339(world.now()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "systemd",
        "CgroupVersion": "2",
        "NEventsListener": 0,
        "KernelVersion": "6.1.0-25-amd64",
        "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
        "OSVersion": "12",
        "OSType": "linux",
        "Architecture": "x86_64",
        "NCPU": guest.cpus if guest else 2,
        "MemTotal": guest.maxmem if guest else 4 * 1024**3,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
        "DockerRootDir": "/var/lib/docker",
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": own.hostname,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": own.engine_version,
        "Runtimes": {"runc": {"path": "runc"}},
        "DefaultRuntime": "runc",
        "Swarm": swarm_info(world, own),
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "sim"},
        "RuncCommit": {"ID": "sim"},
        "InitCommit": {"ID": "sim"},
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
        "Warnings": [],
    }


def version_json(world, own) -> dict:
    return {
        "Platform": {"Name": "Docker Engine - Community"},
        "Components": [{"Name": "Engine", "Version": own.engine_version,
                        "Details": {"ApiVersion": ENGINE_API_VERSION, "Arch": "amd64", "Os": "linux",
                                    "MinAPIVersion": MIN_API_VERSION, "GoVersion": "go1.21.13",
                                    "GitCommit": "b1f3aa0", "KernelVersion": "6.1.0-25-amd64",
                                    "Experimental": "false", "BuildTime": "2024-07-23T18:26:17.000000000+00:00"}}],
        "Version": own.engine_version,
        "ApiVersion": ENGINE_API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "b1f3aa0",
        "GoVersion": "go1.21.13",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "6.1.0-25-amd64",
        "BuildTime": "2024-07-23T18:26:17.000000000+00:00",
    }
