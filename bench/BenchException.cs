namespace SandboxPS.Bench;

/// <summary>A benchmark step failed; the message says which and why (no stack trace is printed for it).</summary>
internal sealed class BenchException(string message, Exception? inner = null) : Exception(message, inner);
