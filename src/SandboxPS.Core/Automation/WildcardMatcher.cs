using System.Text;

namespace SandboxPS.Core.Automation;

/// <summary>
/// PowerShell wildcard semantics without System.Management.Automation: <c>*</c> (any run),
/// <c>?</c> (one character), <c>[abc]</c> and <c>[a-z]</c> (one of a set), and the backtick as
/// escape. Matching is case-insensitive (ordinal), like <c>-like</c>.
/// </summary>
internal sealed class WildcardMatcher
{
    private readonly Token[] _tokens;

    private WildcardMatcher(string pattern, Token[] tokens)
    {
        Pattern = pattern;
        _tokens = tokens;
    }

    /// <summary>The pattern as given.</summary>
    public string Pattern { get; }

    /// <summary>True when the pattern contains an unescaped wildcard character.</summary>
    public bool HasWildcards => _tokens.Any(t => t.Kind != TokenKind.Literal);

    /// <summary>True when <paramref name="text"/> has an unescaped <c>*</c>, <c>?</c> or <c>[</c>.</summary>
    public static bool ContainsWildcardCharacters(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '`':
                    i++;
                    break;
                case '*' or '?' or '[':
                    return true;
            }
        }
        return false;
    }

    /// <summary>Removes escape backticks: <c>a`*b</c> becomes <c>a*b</c>.</summary>
    public static string Unescape(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '`' && i + 1 < text.Length)
            {
                i++;
            }
            sb.Append(text[i]);
        }
        return sb.ToString();
    }

    /// <summary>Parses <paramref name="pattern"/>.</summary>
    /// <exception cref="SandboxException">InvalidArgument <c>InvalidWildcardPattern</c> for an unclosed <c>[</c>.</exception>
    public static WildcardMatcher Create(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var tokens = new List<Token>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    tokens.Add(Token.Literal(pattern[++i]));
                    break;
                case '*':
                    if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Star)
                    {
                        tokens.Add(new Token(TokenKind.Star, default, null));
                    }
                    break;
                case '?':
                    tokens.Add(new Token(TokenKind.One, default, null));
                    break;
                case '[':
                    i = ParseSet(pattern, i, tokens);
                    break;
                default:
                    tokens.Add(Token.Literal(c));
                    break;
            }
        }
        return new WildcardMatcher(pattern, tokens.ToArray());
    }

    private static int ParseSet(string pattern, int open, List<Token> tokens)
    {
        var ranges = new List<(char From, char To)>();
        var i = open + 1;
        while (i < pattern.Length && pattern[i] != ']')
        {
            var from = pattern[i];
            if (from == '`' && i + 1 < pattern.Length)
            {
                from = pattern[++i];
            }
            if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
            {
                var to = pattern[i + 2];
                if (to < from)
                {
                    throw Invalid(pattern, $"the range '{from}-{to}' runs backwards");
                }
                ranges.Add((from, to));
                i += 3;
            }
            else
            {
                ranges.Add((from, from));
                i++;
            }
        }
        if (i >= pattern.Length)
        {
            throw Invalid(pattern, "a '[' is not closed by ']' (escape a literal bracket with a backtick: `[)");
        }
        if (ranges.Count == 0)
        {
            throw Invalid(pattern, "'[]' is an empty set");
        }
        tokens.Add(new Token(TokenKind.Set, default, ranges.ToArray()));
        return i;
    }

    private static SandboxException Invalid(string pattern, string why) =>
        new(SandboxErrorKind.InvalidArgument, "InvalidWildcardPattern",
            $"The wildcard pattern '{pattern}' is not valid: {why}.", pattern);

    /// <summary>True when all of <paramref name="text"/> matches the pattern.</summary>
    public bool IsMatch(string? text)
    {
        if (text is null)
        {
            return false;
        }
        // Iterative glob matching with one backtrack point per star: linear in practice, no recursion.
        int t = 0, p = 0, starP = -1, starT = -1;
        while (t < text.Length)
        {
            if (p < _tokens.Length && _tokens[p].Kind != TokenKind.Star && _tokens[p].Matches(text[t]))
            {
                t++;
                p++;
            }
            else if (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
            {
                starP = p++;
                starT = t;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }
        while (p < _tokens.Length && _tokens[p].Kind == TokenKind.Star)
        {
            p++;
        }
        return p == _tokens.Length;
    }

    private enum TokenKind { Literal, One, Star, Set }

    private readonly record struct Token(TokenKind Kind, char Char, (char From, char To)[]? Ranges)
    {
        public static Token Literal(char c) => new(TokenKind.Literal, c, null);

        public bool Matches(char c) => Kind switch
        {
            TokenKind.Literal => char.ToUpperInvariant(c) == char.ToUpperInvariant(Char),
            TokenKind.One => true,
            TokenKind.Set => Ranges!.Any(r => InRange(c, r.From, r.To)),
            _ => false,
        };

        private static bool InRange(char c, char from, char to) =>
            (c >= from && c <= to)
            || (char.ToUpperInvariant(c) >= char.ToUpperInvariant(from) && char.ToUpperInvariant(c) <= char.ToUpperInvariant(to))
            || (char.ToLowerInvariant(c) >= char.ToLowerInvariant(from) && char.ToLowerInvariant(c) <= char.ToLowerInvariant(to));
    }
}
