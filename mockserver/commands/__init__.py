"""The ``vidmock`` commands beside ``serve`` and ``proxy``, reached only from ``mockserver.cli``:
``validate``, ``explain`` (with its package data ``explain_docs.json``), ``cache``, ``openapi``
(also served at ``GET /openapi.json``) and ``config_render`` (the settings written out for
people: ``--help`` lines, the docs tables, a ``vidmock.toml``)."""
