namespace SandboxPS.Protocol;

/// <summary>
/// Stable error ids carried in the <c>errorId</c> field of problem+json bodies. They never change
/// meaning; clients map them to exception kinds and PowerShell error categories.
/// </summary>
public static class ErrorIds
{
    /// <summary>401: missing or wrong bearer token.</summary>
    public const string Unauthorized = "Unauthorized";
    /// <summary>400: the request body or query is malformed or has invalid values.</summary>
    public const string InvalidRequest = "InvalidRequest";
    /// <summary>404: no such route.</summary>
    public const string RouteNotFound = "RouteNotFound";
    /// <summary>404: no session with that id.</summary>
    public const string SessionNotFound = "SessionNotFound";
    /// <summary>409: the session is running another command.</summary>
    public const string SessionBusy = "SessionBusy";
    /// <summary>409: input or interrupt sent to a session that runs nothing.</summary>
    public const string SessionIdle = "SessionIdle";
    /// <summary>409: the session's process has exited; create a new session.</summary>
    public const string SessionExited = "SessionExited";
    /// <summary>409: a session with that id exists already.</summary>
    public const string SessionExists = "SessionExists";
    /// <summary>429: the server's session capacity is reached.</summary>
    public const string CapacityReached = "CapacityReached";
    /// <summary>400: the path is empty, relative where absolute is needed, or otherwise unusable.</summary>
    public const string InvalidPath = "InvalidPath";
    /// <summary>404: the path does not exist.</summary>
    public const string PathNotFound = "PathNotFound";
    /// <summary>409: the path exists and the call would overwrite it.</summary>
    public const string PathExists = "PathExists";
    /// <summary>400: the path is a directory where a file is needed (or the reverse).</summary>
    public const string PathIsDirectory = "PathIsDirectory";
    /// <summary>403: the operating system denied access.</summary>
    public const string PermissionDenied = "PermissionDenied";
    /// <summary>400: <c>str_replace</c> found no occurrence of <c>oldStr</c>.</summary>
    public const string EditNoMatch = "EditNoMatch";
    /// <summary>400: <c>str_replace</c> found more than one occurrence of <c>oldStr</c>.</summary>
    public const string EditAmbiguous = "EditAmbiguous";
    /// <summary>400: <c>undo</c> with no edit to undo.</summary>
    public const string EditNothingToUndo = "EditNothingToUndo";
    /// <summary>400: an <c>insert</c> line or view range outside the file.</summary>
    public const string EditInvalidRange = "EditInvalidRange";
    /// <summary>400 (python sessions): no python3 in the sandbox.</summary>
    public const string PythonNotAvailable = "PythonNotAvailable";
    /// <summary>400 (shell sessions or exec): no usable shell or executable.</summary>
    public const string ExecutableNotFound = "ExecutableNotFound";
    /// <summary>400: the archive is malformed or would write outside the target directory.</summary>
    public const string InvalidArchive = "InvalidArchive";
    /// <summary>409: a request with the same X-Request-Id is still running.</summary>
    public const string RequestInProgress = "RequestInProgress";
    /// <summary>405: the route exists but not with this HTTP method.</summary>
    public const string MethodNotAllowed = "MethodNotAllowed";
    /// <summary>409: deleting a non-empty directory without <c>recursive=true</c>.</summary>
    public const string DirectoryNotEmpty = "DirectoryNotEmpty";
    /// <summary>400: the path is not a directory where one is needed (list, archive upload target, cwd).</summary>
    public const string NotADirectory = "NotADirectory";
    /// <summary>400: reading a FIFO, socket or device as a file (a character or block device needs an explicit length).</summary>
    public const string NotARegularFile = "NotARegularFile";
    /// <summary>
    /// 413: a JSON body above the limit (docs/protocol.md); large data goes as a stream instead
    /// (<c>PUT /v1/files</c>, then <c>stdinPath</c> on exec; <c>PUT /v1/archive</c>).
    /// </summary>
    public const string RequestTooLarge = "RequestTooLarge";
    /// <summary>422: an <c>X-Request-Id</c> reused for a different request (method, path, query or body); use a new id.</summary>
    public const string RequestIdReused = "RequestIdReused";
    /// <summary>500: anything unexpected; the detail says what.</summary>
    public const string InternalError = "InternalError";
}
