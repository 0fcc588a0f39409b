"""CMG Content Harness: emulated ConfigMgr internet content topology for task sequence tests."""
