// Starts the app: a file of its own, since the Content-Security-Policy allows no inline script.
import init from "/pkg/app.js";
init();
