// Placeholder until the benchmark harness lands (issue 6).
return 0;
