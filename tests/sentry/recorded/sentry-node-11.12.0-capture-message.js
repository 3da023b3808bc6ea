const Sentry = require("@sentry/node");
Sentry.init({ dsn: "http://publickey@127.0.0.1:18231/3", attachStacktrace: true, release: "geo-api@1.4.0",
              environment: "production", defaultIntegrations: false, tracesSampleRate: 0 });
function checkQuota() { Sentry.captureMessage("quota nearly used up: 92%", "warning"); }
checkQuota();
Sentry.captureMessage("nightly import skipped", "log");
Sentry.flush(5000).then(() => process.exit(0));
