"""Assets by layer: raw (API + webhook log) -> core -> analytics -> published snapshot."""
