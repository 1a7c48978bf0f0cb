using System.Text;

namespace SandboxPS.Core.Automation;

/// <summary>
/// Turns streamed output chunks (which split lines anywhere) into whole lines for the host, so
/// <c>Invoke-SandboxAction -Stream</c> prints each line once, as soon as it is complete.
/// </summary>
internal sealed class StreamLineSplitter
{
    private readonly StringBuilder _pending = new();

    /// <summary>The complete lines that <paramref name="chunk"/> finishes (without their line breaks).</summary>
    public IReadOnlyList<string> Push(string? chunk)
    {
        if (string.IsNullOrEmpty(chunk))
        {
            return [];
        }
        var lines = new List<string>();
        foreach (var c in chunk)
        {
            if (c == '\n')
            {
                if (_pending.Length > 0 && _pending[^1] == '\r')
                {
                    _pending.Length--;
                }
                lines.Add(_pending.ToString());
                _pending.Clear();
            }
            else
            {
                _pending.Append(c);
            }
        }
        return lines;
    }

    /// <summary>The unterminated last line, if any; the splitter is empty afterwards.</summary>
    public string? Flush()
    {
        if (_pending.Length == 0)
        {
            return null;
        }
        var last = _pending.ToString().TrimEnd('\r');
        _pending.Clear();
        return last;
    }
}
