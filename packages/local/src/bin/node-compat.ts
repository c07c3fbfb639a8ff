/** Imported first by every entry point. */
// The SDK warns that releases after January 2027 drop Node 20; the lockfile pins one that supports it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
