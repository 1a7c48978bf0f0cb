using SandboxPS.Core;
using SandboxPS.Core.Automation;

namespace SandboxPS.Tests;

public class WildcardMatcherTests
{
    [Theory]
    [InlineData("web-*", "web-1", true)]
    [InlineData("web-*", "WEB-frontend", true)]
    [InlineData("web-*", "api-1", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("sbx-????", "sbx-1a2b", true)]
    [InlineData("sbx-????", "sbx-1a2", false)]
    [InlineData("sbx-[0-9]*", "sbx-7x", true)]
    [InlineData("sbx-[0-9]*", "sbx-x7", false)]
    [InlineData("[abc]", "B", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("*-ci", "build-42-ci", true)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    [InlineData("a`*b", "a*b", true)]
    [InlineData("a`*b", "aXb", false)]
    [InlineData("a`[1]", "a[1]", true)]
    [InlineData("**x", "x", true)]
    public void IsMatch_FollowsPowerShellLikeSemantics(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, WildcardMatcher.Create(pattern).IsMatch(text));
    }

    [Theory]
    [InlineData("plain", false)]
    [InlineData("web-*", true)]
    [InlineData("sbx-?", true)]
    [InlineData("[ab]", true)]
    [InlineData("a`*", false)]
    [InlineData("", false)]
    public void ContainsWildcardCharacters_IgnoresEscapedOnes(string text, bool expected)
    {
        Assert.Equal(expected, WildcardMatcher.ContainsWildcardCharacters(text));
        Assert.Equal(expected, WildcardMatcher.Create(text).HasWildcards);
    }

    [Fact]
    public void Unescape_RemovesBackticks()
    {
        Assert.Equal("a*b[1]", WildcardMatcher.Unescape("a`*b`[1]"));
    }

    [Theory]
    [InlineData("web-[ab")]
    [InlineData("x[]")]
    [InlineData("[z-a]")]
    public void Create_InvalidPattern_ThrowsInvalidArgumentNamingThePattern(string pattern)
    {
        var ex = Assert.Throws<SandboxException>(() => WildcardMatcher.Create(pattern));
        Assert.Equal(SandboxErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("InvalidWildcardPattern", ex.ErrorId);
        Assert.Contains(pattern, ex.Message);
    }

    [Fact]
    public void IsMatch_LongInputWithManyStars_CompletesQuickly()
    {
        // Backtracking matchers explode on this; the iterative one is linear-ish.
        var text = new string('a', 5000) + "b";
        Assert.False(WildcardMatcher.Create("*a*a*a*a*a*a*a*c").IsMatch(text));
    }
}
