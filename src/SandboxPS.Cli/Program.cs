using SandboxPS.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
