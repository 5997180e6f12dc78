"""Tests of import and export (chatdesk.transfer)."""
