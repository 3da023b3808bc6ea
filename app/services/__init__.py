"""The domain: every rule and every change of state, called by views, the CLI and jobs alike."""
