"""Spring City Youth (春城青年) backend."""
