namespace Ci.Isolation.Init;

/// <summary>
/// The spec cannot be set up in this image, through no fault of the host (a mount target behind a
/// symbolic link in the image): reported to the runner at stage <see cref="InitStage.Refused"/>,
/// which the user sees as a sentence, without a stack trace.
/// </summary>
internal sealed class InitSpecException(string message) : Exception(message);
