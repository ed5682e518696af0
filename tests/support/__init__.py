"""Test support shared by Engram's test modules (stand-ins and fixtures)."""
