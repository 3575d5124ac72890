"""The operations layer (issue 11): guest lifecycle, migration and evacuation,
snapshots, backups, tasks and logs, and the console's own command log.

No Textual and no printing: async functions take the cluster's Sources (and
the config they need), report progress through a callback, and return typed
results that the TUI and the headless commands render.
"""
