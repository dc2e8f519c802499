// Loaded with `node --import` before the service's entry by the start-up benchmark: reports,
// on stderr, when the process began (performance.timeOrigin) and when its first JavaScript ran,
// as epoch milliseconds.
process.stderr.write(`${JSON.stringify({ benchPreload: { timeOriginMs: performance.timeOrigin, userCodeMs: performance.timeOrigin + performance.now() } })}\n`);
