using System.Globalization;
using System.Text;
using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// The editor of coding agents: view, create, str_replace (exactly one match), insert, undo.
/// Undo keeps, per file, the contents before each change made through this server (in memory).
/// </summary>
internal sealed class FileEditor
{
    private const int HistoryDepth = 32;
    private readonly Dictionary<string, List<string?>> _history = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);

    public void Forget(string path)
    {
        lock (_history)
        {
            _history.Remove(path);
        }
    }

    public async Task<EditResponse> ApplyAsync(EditRequest request, string path)
    {
        await _lock.WaitAsync();
        try
        {
            return request.Command switch
            {
                EditCommands.View => View(request, path),
                EditCommands.Create => await CreateAsync(request, path),
                EditCommands.StrReplace => await ReplaceAsync(request, path),
                EditCommands.Insert => await InsertAsync(request, path),
                EditCommands.Undo => await UndoAsync(request, path),
                _ => throw ApiException.BadRequest(
                    $"Unknown edit command '{request.Command}'. Use view, create, str_replace, insert or undo."),
            };
        }
        finally
        {
            _lock.Release();
        }
    }

    private static EditResponse View(EditRequest request, string path)
    {
        if (Directory.Exists(path))
        {
            var sb = new StringBuilder();
            foreach (var entry in Walk(path, 2).Order(StringComparer.Ordinal))
            {
                sb.Append(entry).Append('\n');
            }
            return new EditResponse { Path = path, Command = request.Command, Output = sb.ToString(), Diff = "" };
        }
        var text = FileRoutes.ReadAllTextAsync(path).GetAwaiter().GetResult();
        var lines = Lines.Split(text);
        int first = 1, last = lines.Count;
        if (request.ViewRange is { } range)
        {
            if (range.Length != 2 || range[0] < 1 || range[0] > Math.Max(lines.Count, 1) || (range[1] != -1 && range[1] < range[0]))
            {
                throw new ApiException(400, ErrorIds.EditInvalidRange,
                    $"viewRange must be [first, last] with 1 ≤ first ≤ {Math.Max(lines.Count, 1)} and last ≥ first or -1; got [{string.Join(", ", range)}].");
            }
            first = range[0];
            last = range[1] == -1 ? lines.Count : Math.Min(range[1], lines.Count);
        }
        var output = new StringBuilder();
        for (int i = first; i <= last; i++)
        {
            output.Append(i.ToString(CultureInfo.InvariantCulture).PadLeft(6)).Append('\t').Append(Lines.WithoutTerminator(lines[i - 1])).Append('\n');
        }
        return new EditResponse { Path = path, Command = request.Command, Output = output.ToString(), Diff = "" };
    }

    private static IEnumerable<string> Walk(string root, int depth)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(root).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var e in entries)
        {
            var name = Path.GetFileName(e);
            if (name.StartsWith('.'))
            {
                continue;
            }
            bool isDir = Directory.Exists(e) && new FileInfo(e).LinkTarget is null;
            yield return isDir ? e + "/" : e;
            if (isDir && depth > 1)
            {
                foreach (var sub in Walk(e, depth - 1))
                {
                    yield return sub;
                }
            }
        }
    }

    private async Task<EditResponse> CreateAsync(EditRequest request, string path)
    {
        if (request.FileText is null)
        {
            throw ApiException.BadRequest("create needs 'fileText' (the new file's contents).");
        }
        if (File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            throw new ApiException(409, ErrorIds.PathExists, $"'{path}' exists already; create makes new files only (use str_replace or PUT /v1/files).");
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path) ?? "/");
            await File.WriteAllTextAsync(path, request.FileText);
        }
        catch (Exception ex)
        {
            throw FileErrors.Map(ex, path);
        }
        Push(path, null);
        return new EditResponse
        {
            Path = path,
            Command = request.Command,
            Output = $"Created {path} ({Lines.Split(request.FileText).Count} lines).",
            Diff = UnifiedDiff.Make(path, "", request.FileText),
        };
    }

    private async Task<EditResponse> ReplaceAsync(EditRequest request, string path)
    {
        if (string.IsNullOrEmpty(request.OldStr))
        {
            throw ApiException.BadRequest("str_replace needs a non-empty 'oldStr'.");
        }
        var text = await FileRoutes.ReadAllTextAsync(path);
        int count = 0, at = -1;
        for (int i = text.IndexOf(request.OldStr, StringComparison.Ordinal); i >= 0;
             i = text.IndexOf(request.OldStr, i + request.OldStr.Length, StringComparison.Ordinal))
        {
            if (count++ == 0)
            {
                at = i;
            }
        }
        if (count == 0)
        {
            throw new ApiException(400, ErrorIds.EditNoMatch,
                $"oldStr does not occur in '{path}'; it must match exactly, whitespace and line ends included.");
        }
        if (count > 1)
        {
            var lines = new List<int>();
            for (int i = text.IndexOf(request.OldStr, StringComparison.Ordinal); i >= 0 && lines.Count < 20;
                 i = text.IndexOf(request.OldStr, i + request.OldStr.Length, StringComparison.Ordinal))
            {
                lines.Add(LineOf(text, i));
            }
            throw new ApiException(400, ErrorIds.EditAmbiguous,
                $"oldStr occurs {count} times in '{path}' (lines {string.Join(", ", lines)}); include more context so it matches exactly once.");
        }
        var updated = string.Concat(text.AsSpan(0, at), request.NewStr ?? "", text.AsSpan(at + request.OldStr.Length));
        await WriteAsync(path, updated);
        Push(path, text);
        return new EditResponse
        {
            Path = path,
            Command = request.Command,
            Output = $"Replaced 1 occurrence at line {LineOf(text, at)} of {path}.",
            Diff = UnifiedDiff.Make(path, text, updated),
        };
    }

    private static int LineOf(string text, int index)
    {
        int line = 1;
        for (int i = 0; i < index; i++)
        {
            if (text[i] == '\n') line++;
        }
        return line;
    }

    private async Task<EditResponse> InsertAsync(EditRequest request, string path)
    {
        if (request.NewStr is null)
        {
            throw ApiException.BadRequest("insert needs 'newStr' (the text to insert).");
        }
        if (request.InsertLine is not { } after)
        {
            throw ApiException.BadRequest("insert needs 'insertLine' (insert after this line; 0 = at the top).");
        }
        var text = await FileRoutes.ReadAllTextAsync(path);
        var lines = Lines.Split(text);
        if (after < 0 || after > lines.Count)
        {
            throw new ApiException(400, ErrorIds.EditInvalidRange, $"insertLine must be from 0 to {lines.Count} for '{path}'; got {after}.");
        }
        var insert = request.NewStr.EndsWith('\n') || request.NewStr.Length == 0 ? request.NewStr : request.NewStr + "\n";
        if (after > 0 && after == lines.Count && !lines[^1].EndsWith('\n'))
        {
            lines[^1] += "\n";
        }
        lines.Insert(after, insert);
        var updated = string.Concat(lines);
        await WriteAsync(path, updated);
        Push(path, text);
        return new EditResponse
        {
            Path = path,
            Command = request.Command,
            Output = $"Inserted {Lines.Split(insert).Count} line(s) after line {after} of {path}.",
            Diff = UnifiedDiff.Make(path, text, updated),
        };
    }

    private async Task<EditResponse> UndoAsync(EditRequest request, string path)
    {
        string? previous;
        lock (_history)
        {
            if (!_history.TryGetValue(path, out var stack) || stack.Count == 0)
            {
                throw new ApiException(400, ErrorIds.EditNothingToUndo, $"No edit of '{path}' to undo (history is kept per server run).");
            }
            previous = stack[^1];
            stack.RemoveAt(stack.Count - 1);
        }
        string current = File.Exists(path) ? await FileRoutes.ReadAllTextAsync(path) : "";
        if (previous is null)
        {
            File.Delete(path);
            return new EditResponse { Path = path, Command = request.Command, Output = $"Undid the creation of {path} (deleted).", Diff = UnifiedDiff.Make(path, current, "") };
        }
        await WriteAsync(path, previous);
        return new EditResponse { Path = path, Command = request.Command, Output = $"Undid the last edit of {path}.", Diff = UnifiedDiff.Make(path, current, previous) };
    }

    private static async Task WriteAsync(string path, string text)
    {
        try
        {
            // Rewrite in place: keeps the file's mode, owner and hard links.
            await File.WriteAllTextAsync(path, text);
        }
        catch (Exception ex)
        {
            throw FileErrors.Map(ex, path);
        }
    }

    private void Push(string path, string? before)
    {
        lock (_history)
        {
            if (!_history.TryGetValue(path, out var stack))
            {
                _history[path] = stack = [];
            }
            stack.Add(before);
            if (stack.Count > HistoryDepth)
            {
                stack.RemoveAt(0);
            }
        }
    }
}

/// <summary>A one-hunk unified diff (edits change one contiguous region), 3 lines of context.</summary>
internal static class UnifiedDiff
{
    public static string Make(string path, string before, string after)
    {
        if (before == after)
        {
            return "";
        }
        var a = Lines.Split(before);
        var b = Lines.Split(after);
        int prefix = 0;
        while (prefix < a.Count && prefix < b.Count && a[prefix] == b[prefix]) prefix++;
        int suffix = 0;
        while (suffix < a.Count - prefix && suffix < b.Count - prefix && a[a.Count - 1 - suffix] == b[b.Count - 1 - suffix]) suffix++;
        int ctxStart = Math.Max(0, prefix - 3);
        int aEnd = Math.Min(a.Count, a.Count - suffix + 3);
        int bEnd = Math.Min(b.Count, b.Count - suffix + 3);
        var sb = new StringBuilder();
        sb.Append("--- a").Append(path).Append('\n').Append("+++ b").Append(path).Append('\n');
        int aLen = aEnd - ctxStart, bLen = bEnd - ctxStart;
        sb.Append(CultureInfo.InvariantCulture, $"@@ -{(aLen == 0 ? ctxStart : ctxStart + 1)},{aLen} +{(bLen == 0 ? ctxStart : ctxStart + 1)},{bLen} @@\n");
        for (int i = ctxStart; i < prefix; i++) Line(sb, ' ', a[i]);
        for (int i = prefix; i < a.Count - suffix; i++) Line(sb, '-', a[i]);
        for (int i = prefix; i < b.Count - suffix; i++) Line(sb, '+', b[i]);
        for (int i = a.Count - suffix; i < aEnd; i++) Line(sb, ' ', a[i]);
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, char tag, string line)
    {
        sb.Append(tag).Append(Lines.WithoutTerminator(line)).Append('\n');
        if (!line.EndsWith('\n'))
        {
            sb.Append("\\ No newline at end of file\n");
        }
    }
}
