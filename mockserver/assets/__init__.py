"""The caller's assets: uploaded media (``uploads``: imageUpload, mediaStorage), the ledger of every
UUID vidmock minted and who owns it (``ledger``), and a task's UUID inputs resolved by kind
against them (``inputs``)."""
