"""What is judged and written down about traffic, shared by the proxy, the replayer and the journal:
drift findings (``drift``), recordings (``recording``), keys kept out of all of it
(``redaction``) and the ``--verbose`` log line (``verbose_log``)."""
