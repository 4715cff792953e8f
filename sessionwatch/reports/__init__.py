"""Machine-readable reports of ``validate`` and ``test``: SARIF 2.1.0, JUnit XML and JSON."""
