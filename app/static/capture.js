/*!
 * Heartwatch browser capture helper. No dependencies, no build step, ES5 syntax.
 *
 *   <script src="https://heartwatch.example/static/capture.js" data-key="INGEST_KEY"
 *           data-release="1.2.3" data-environment="production"></script>
 *
 * or Heartwatch.init({key: 'INGEST_KEY', endpoint: 'https://heartwatch.example', release: '1.2.3'}).
 * data-endpoint / endpoint default to the origin this script was loaded from.
 *
 * Reports uncaught errors and unhandled promise rejections to
 * {endpoint}/webhook/frontend/?key=KEY.  Framework integrations call
 * Heartwatch.captureException(error, {componentStack, severity, tags, framework}) and
 * Heartwatch.captureMessage(message, severity).  Nothing here ever throws into the page.
 */
(function (window) {
  'use strict';
  if (!window || (window.Heartwatch && window.Heartwatch.version)) {
    return; // loaded twice: keep the first instance (and its de-duplication state)
  }

  var document = window.document;
  var MAX_STACK = 16000; // fetch keepalive bodies are capped at 64 KiB per page in total
  var config = {key: null, endpoint: null, release: null, environment: null, framework: null,
                maxEvents: 20, tags: null, user: null};
  var installed = false;
  var reporting = false; // set while we send, so failures inside our own code are not reported
  var sentCount = 0;
  var seen = {};
  var script = document && document.currentScript; // only available while this file first runs
  var scriptSrc = script && script.src;

  function originOf(url) {
    var match = /^(https?:\/\/[^\/?#]+)/i.exec(url || '');
    return match ? match[1] : '';
  }

  function text(value, limit) {
    var result;
    try {
      if (typeof value === 'string') {
        result = value;
      } else if (value instanceof Error) {
        result = String(value);
      } else {
        result = JSON.stringify(value);
        if (result === undefined) {
          result = String(value);
        }
      }
    } catch (e) {
      try { result = String(value); } catch (e2) { result = '[unserializable]'; }
    }
    return limit && result.length > limit ? result.slice(0, limit) + '...[truncated]' : result;
  }

  function merge(target, source) {
    if (source) {
      for (var name in source) {
        if (Object.prototype.hasOwnProperty.call(source, name) && source[name] !== undefined) {
          target[name] = source[name];
        }
      }
    }
    return target;
  }

  function send(payload) {
    if (!config.key || !config.endpoint || sentCount >= config.maxEvents) {
      return false;
    }
    // One report per distinct error per page: a failing render loop must not flood the server.
    var signature = payload.message + '\n' + (payload.stack || payload.filename + ':' + payload.lineno);
    if (seen[signature]) {
      return false;
    }
    seen[signature] = true;
    sentCount += 1;

    var url = config.endpoint.replace(/\/+$/, '') + '/webhook/frontend/?key=' + encodeURIComponent(config.key);
    reporting = true;
    try {
      var body = JSON.stringify(payload);
      // text/plain keeps this a "simple" request (no CORS preflight); no-cors because we never
      // read the response, so the server needs no CORS headers for the report to arrive.
      if (typeof window.fetch === 'function') {
        try {
          var pending = window.fetch(url, {method: 'POST', body: body, keepalive: true, mode: 'no-cors',
                                           credentials: 'omit', headers: {'Content-Type': 'text/plain'}});
          if (pending && typeof pending['catch'] === 'function') {
            pending['catch'](function () {}); // a lost report must not become an unhandled rejection
          }
          return true;
        } catch (e) {
          // fetch refused synchronously (old browser without keepalive etc.): try sendBeacon
        }
      }
      var navigator = window.navigator;
      if (navigator && typeof navigator.sendBeacon === 'function') {
        return navigator.sendBeacon(url, body); // a string body is sent as text/plain
      }
      return false;
    } catch (e) {
      return false;
    } finally {
      reporting = false;
    }
  }

  function buildPayload(fields) {
    var navigator = window.navigator;
    var payload = {
      url: window.location && window.location.href,
      userAgent: navigator && navigator.userAgent,
      framework: config.framework || undefined,
      release: config.release || undefined,
      environment: config.environment || undefined,
      user: config.user || undefined,
      tags: config.tags ? merge({}, config.tags) : undefined
    };
    merge(payload, fields);
    if (!payload.message) {
      payload.message = payload.name || 'Error'; // the server requires a message
    }
    if (payload.stack) {
      payload.stack = text(payload.stack, MAX_STACK);
    }
    return payload;
  }

  function errorFields(error) {
    // Angular's HttpErrorResponse, rejected strings, plain objects... are not Error instances.
    if (error && typeof error === 'object' && (error.message !== undefined || error.stack)) {
      return {name: text(error.name || 'Error'), message: text(error.message, 8000),
              stack: error.stack ? text(error.stack) : undefined};
    }
    return {name: 'Error', message: text(error, 8000)};
  }

  function isOwnError(filename) {
    // Our functions catch everything, so this only guards against re-entry while sending and
    // against a failure of this file itself (e.g. an ancient browser).
    return reporting || (scriptSrc && filename === scriptSrc);
  }

  function onError(event) {
    try {
      var error = event && event.error;
      if (isOwnError(event && event.filename)) {
        return;
      }
      var fields = error ? errorFields(error) : {name: 'Error', message: text(event && event.message)};
      send(buildPayload(merge(fields, {
        type: 'error',
        message: fields.message || text(event && event.message),
        filename: event && event.filename,
        lineno: event && event.lineno,
        colno: event && event.colno
      })));
    } catch (e) {
      // never let reporting break the page
    }
  }

  function onRejection(event) {
    try {
      var reason = event && event.reason;
      if (reporting) {
        return;
      }
      var fields = errorFields(reason);
      if (!(reason && typeof reason === 'object' && reason.message !== undefined)) {
        fields.message = 'Unhandled promise rejection: ' + fields.message;
      }
      send(buildPayload(merge(fields, {type: 'unhandledrejection', reason: text(reason, 8000)})));
    } catch (e) {
      // never let reporting break the page
    }
  }

  function install() {
    if (installed || typeof window.addEventListener !== 'function') {
      return;
    }
    installed = true;
    // addEventListener rather than assigning window.onerror: the page's own handlers keep working.
    window.addEventListener('error', onError);
    window.addEventListener('unhandledrejection', onRejection);
  }

  var Heartwatch = {
    version: '0.1.0',

    /** Configure (key, endpoint, release, environment, framework, maxEvents, tags, user) and start listening. */
    init: function (options) {
      try {
        merge(config, options);
        var maxEvents = Number(config.maxEvents);
        config.maxEvents = maxEvents >= 0 ? maxEvents : 20; // NaN (a typo) keeps the default
        if (!config.endpoint) {
          config.endpoint = originOf(scriptSrc) || (window.location && window.location.origin) || '';
        }
        install();
      } catch (e) {
        // never throw into the page
      }
      return Heartwatch;
    },

    /** Report a caught error; options: componentStack, severity, tags, framework, user. */
    captureException: function (error, options) {
      try {
        options = options || {};
        var fields = merge(errorFields(error), {
          type: 'error',
          componentStack: options.componentStack ? text(options.componentStack, MAX_STACK) : undefined,
          severity: options.severity,
          framework: options.framework,
          user: options.user
        });
        var payload = buildPayload(fields);
        if (options.tags) {
          payload.tags = merge(payload.tags || {}, options.tags);
        }
        return send(payload);
      } catch (e) {
        return false;
      }
    },

    /** Report a plain message (severity: critical, high, medium, low or info; default info). */
    captureMessage: function (message, severity) {
      try {
        return send(buildPayload({name: 'Message', message: text(message, 8000), severity: severity || 'info'}));
      } catch (e) {
        return false;
      }
    },

    /** Attach user details ({id, email, ...}) to later reports; null clears them. */
    setUser: function (user) {
      config.user = user || null;
    }
  };

  window.Heartwatch = Heartwatch;

  try {
    var key = script && script.getAttribute && script.getAttribute('data-key');
    if (key) {
      Heartwatch.init({
        key: key,
        endpoint: script.getAttribute('data-endpoint'),
        release: script.getAttribute('data-release'),
        environment: script.getAttribute('data-environment'),
        framework: script.getAttribute('data-framework'),
        maxEvents: script.getAttribute('data-max-events') || config.maxEvents
      });
    }
  } catch (e) {
    // a malformed tag must not break the page
  }
})(typeof window !== 'undefined' ? window : undefined);
