using System.Globalization;

namespace Ci.Isolation.Containers;

/// <summary>
/// A user as images, Containerfiles, pipelines and <c>runner run --user</c> give it: <c>UID</c>
/// or <c>UID:GID</c>, numbers (names are not looked up yet); empty means root. With a UID alone
/// the group is the same number, as Docker does without a passwd lookup.
/// </summary>
public static class UserIds
{
    public const string Expected = "UID or UID:GID (numbers; names are not looked up yet)";

    public static bool TryParse(string? user, out uint uid, out uint gid)
    {
        uid = gid = 0;
        if (string.IsNullOrEmpty(user))
        {
            return true;
        }

        var parts = user.Split(':');
        if (parts.Length > 2 || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            return false;
        }

        if (parts.Length == 1)
        {
            gid = uid;
            return true;
        }

        return uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out gid);
    }
}
