// Test helpers shared by the test targets: fixtures, loopback servers, process runners.
