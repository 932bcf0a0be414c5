"""What the browser tests share: Chromium and Playwright set-up, the live service (web, worker, simulator) over
TLS, axe-core, page helpers, keyboard-only driving and the resident and staff journeys."""
