"""Upgrades beyond the nodes: inside guests (CTs, VMs) and of the firewall pair, on the
maintenance engine (journal, lock, resume, rollback). No Textual here."""
