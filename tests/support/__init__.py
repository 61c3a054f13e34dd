"""The test and benchmark harness: private deployments on the stack bin/stack starts."""
