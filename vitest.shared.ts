// Test settings every package shares (each package's vitest.config.ts passes them to defineConfig).
// Timeouts are hang detectors, never speed checks: the suite must pass on a loaded 2-core machine
// (.ci/run runs it a second time with both cores kept busy), so tests wait on events and only a
// real hang reaches these ceilings.
export const HANG_DETECTOR_MS = 120_000;

export const sharedTestConfig = {
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: HANG_DETECTOR_MS,
    hookTimeout: HANG_DETECTOR_MS,
    teardownTimeout: HANG_DETECTOR_MS,
  },
};
