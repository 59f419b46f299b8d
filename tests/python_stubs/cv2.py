"""Test stand-in for cv2 (imported, unused, by the seed repositories' networks)."""
