// Placeholder until the CLI lands (issue 3).
return 0;
