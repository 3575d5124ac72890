"""The commented starter file `labconsole config init` writes.

It loads as is (a Proxmox-only cluster); the other layers are commented out.
Every key is documented in config.example.toml of the source tree.
"""

STARTER = '''\
# labconsole configuration (written by `labconsole config init`).
# Check it with `labconsole config check`; every key is documented in
# config.example.toml of the labconsole source tree.
#
# Secrets are never written here: point to a file (token_secret_file) or an
# environment variable (token_secret_env) that holds them.
# Relative paths are relative to this file's directory; ~ is expanded.

# The cluster opened when --cluster is not given.
default_cluster = "home"

[log]
# debug | info | warning | error (--debug forces debug)
level = "info"

# One [clusters.NAME] table per cluster; every layer below is optional.
[clusters.home]
# Header colour: red, green, yellow, blue, magenta, cyan, white or #rrggbb.
color = "green"
# true: every mutating action is hidden or refused.
read_only = false
# Poll interval and timeout (seconds) for every layer of this cluster.
interval = 2.0
timeout = 5.0

[clusters.home.proxmox]
# API endpoints, tried in order.
endpoints = ["https://192.0.2.11:8006"]
# API token id (USER@REALM!TOKENID), created under Datacenter > Permissions > API Tokens.
token_id = "root@pam!labconsole"
# Exactly one of: a file holding the token secret, or an environment variable.
token_secret_file = "home.token"
# token_secret_env = "LABCONSOLE_HOME_TOKEN"
# TLS is verified; pin the node certificate instead of turning that off:
# fingerprint = "AB:CD:..."   (SHA-256, `openssl x509 -noout -fingerprint -sha256`)
# ca_file = "pve-root-ca.pem"

# SSH is used for HA maintenance, apt, kernels, ceph CLI and the firewalls.
# Host keys are checked against known_hosts, never auto-accepted.
# [clusters.home.ssh]
# user = "root"
# known_hosts = "~/.ssh/known_hosts"
# keys = ["~/.ssh/id_ed25519"]
# agent = true
# port = 22
# [clusters.home.ssh.hosts.pve1]
# address = "192.0.2.11"

# [clusters.home.ceph]
# via = "api"            # or "ssh" with ssh_hosts
# ssh_hosts = ["pve1", "pve2", "pve3"]

# [clusters.home.swarm]
# managers = ["ssh://swarm1", "ssh://swarm2", "ssh://swarm3"]

# [clusters.home.traefik]
# url = "http://192.0.2.30:8080"

# [clusters.home.vrrp]
# preferred_master = "fw1"
# The file keepalived's track_file block watches; writing 1 moves the VIP away.
# track_file = "/etc/keepalived/track"
# [[clusters.home.vrrp.firewalls]]
# name = "fw1"
# ssh_host = "fw1"
# vmid = 101
# [[clusters.home.vrrp.firewalls]]
# name = "fw2"
# ssh_host = "fw2"
# vmid = 102

# [clusters.home.maintenance]
# reboot_timeout = 600
# migrate_timeout = 600
# root_dataset = "auto"
'''
