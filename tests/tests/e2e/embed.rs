//! The embed in headless Chromium against the real server (see tests/js/browser).
