window.greenlight = { ready: true };
