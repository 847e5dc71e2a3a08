using System.CommandLine;
using System.Globalization;
using Ci.Isolation.Containers;
using Ci.Isolation.Images;
using Ci.Isolation.Registry;
using Ci.Pipeline.Values;
using Ci.Runner.Output;

namespace Ci.Runner.Cli;

/// <summary><c>runner image</c>: the runner's own image store: pull, push, build, import, export, ls, inspect, rm, prune.</summary>
internal static class ImageCommand
{
    public static Command Create(RunnerHost host)
    {
        var command = new Command("image", "Manage the images in the runner's store");
        command.Subcommands.Add(Pull(host));
        command.Subcommands.Add(Push(host));
        command.Subcommands.Add(BuildCommand(host));
        command.Subcommands.Add(Import(host));
        command.Subcommands.Add(List(host));
        command.Subcommands.Add(Remove(host));
        command.Subcommands.Add(Prune(host));
        command.Subcommands.Add(Export(host));
        command.Subcommands.Add(Inspect(host));
        return command;
    }

    /// <summary>Pulls an image, showing each layer's progress (bars on a terminal, lines elsewhere, nothing with --quiet); returns null after printing the error.</summary>
    public static async Task<Image?> PullAsync(RunnerHost host, ImageReference reference, bool quiet, CancellationToken cancellationToken)
    {
        try
        {
            return await PullOrThrowAsync(host, reference, quiet, cancellationToken);
        }
        catch (IsolationException ex)
        {
            Console.Error.WriteLine($"runner: {ex.Message}");
            return null;
        }
    }

    /// <summary>As <see cref="PullAsync"/>, but a failure is an <see cref="IsolationException"/> that says why ("cannot pull X: cause"): a run keeps it as the job's reason.</summary>
    public static async Task<Image> PullOrThrowAsync(RunnerHost host, ImageReference reference, bool quiet, CancellationToken cancellationToken)
    {
        var puller = new ImagePuller(host.Registry, host.Images, host.Settings.StateDirectory, Serilog.Log.Logger);
        var output = Console.Error;
        if (!quiet)
        {
            output.WriteLine($"pulling {reference}");
        }

        var view = new Output.PullProgressView(output, terminal: !Console.IsErrorRedirected);
        try
        {
            var image = await puller.PullAsync(reference, quiet ? null : view.Report, cancellationToken);
            view.Finish();
            return image;
        }
        catch (IsolationException ex)
        {
            throw new IsolationException($"cannot pull {reference}: {ex.Message}", ex);
        }
    }

    private static Command Pull(RunnerHost host)
    {
        var name = new Argument<string>("image") { Description = "The image, such as debian:bookworm or registry.example:5000/team/tool@sha256:…" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the image name" };
        var command = new Command("pull", "Pull an image from its registry into the store (layers already here are not downloaded)") { name, quiet };
        command.SetAction(async (parse, ct) =>
        {
            if (!ImageReference.TryParse(parse.GetValue(name)!, out var reference, out var error))
            {
                await Console.Error.WriteLineAsync($"runner: {error}");
                return ExitCodes.InvalidInput;
            }

            var image = await PullAsync(host, reference!, parse.GetValue(quiet), ct);
            if (image is null)
            {
                return ExitCodes.InternalError;
            }

            Console.WriteLine(image.Name);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Push(RunnerHost host)
    {
        var source = new Argument<string>("image") { Description = "The image in the store" };
        var destination = new Argument<string?>("destination") { Description = "Where to push it (default: its own name)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("push", "Push an image to a registry (blobs it has are skipped or mounted; the manifest goes last)") { source, destination };
        command.SetAction(async (parse, ct) =>
        {
            if (!ImageReference.TryParse(parse.GetValue(source)!, out var from, out var error)
                || !ImageReference.TryParse(parse.GetValue(destination) ?? parse.GetValue(source)!, out var to, out error))
            {
                await Console.Error.WriteLineAsync($"runner: {error}");
                return ExitCodes.InvalidInput;
            }

            var store = host.Images;
            if (store.Find(from!) is not { } image)
            {
                await Console.Error.WriteLineAsync($"runner: no image {from} in the store");
                return ExitCodes.InvalidInput;
            }

            try
            {
                var digest = await new ImagePusher(host.Registry, store).PushAsync(image, to!, p => Console.Error.WriteLine($"  {p.Layer}: {p.State}"), ct);
                Console.WriteLine($"{to}@{digest}");
                return ExitCodes.Ok;
            }
            catch (IsolationException ex)
            {
                await Console.Error.WriteLineAsync($"runner: cannot push {to}: {ex.Message}");
                return ExitCodes.InternalError;
            }
        });
        return command;
    }

    private static Command BuildCommand(RunnerHost host)
    {
        var context = new Argument<string>("context") { Description = "The build context directory", DefaultValueFactory = _ => "." };
        var file = new Option<string>("--file", "-f") { Description = "The Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)" };
        var tag = new Option<string>("--tag", "-t") { Description = "The image's name", Required = true };
        var args = new Option<string[]>("--build-arg") { Description = "NAME=VALUE for an ARG (repeatable)" };
        var noCache = new Option<bool>("--no-cache") { Description = "Run every step even when its layer is in the cache" };
        var command = new Command("build", "Build an image from a Containerfile; unchanged steps come from the layer cache") { context, file, tag, args, noCache };
        command.SetAction(async (parse, ct) =>
        {
            var dir = Path.GetFullPath(parse.GetValue(context)!);
            var containerfile = parse.GetValue(file) is { } f ? Path.GetFullPath(f)
                : new[] { "Containerfile", "Dockerfile" }.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists) ?? Path.Combine(dir, "Containerfile");
            if (!File.Exists(containerfile) || !Directory.Exists(dir))
            {
                await Console.Error.WriteLineAsync($"runner: {(Directory.Exists(dir) ? containerfile : dir)}: no such file or directory");
                return ExitCodes.InvalidInput;
            }

            if (!ImageReference.TryParse(parse.GetValue(tag)!, out var name, out var error))
            {
                await Console.Error.WriteLineAsync($"runner: --tag: {error}");
                return ExitCodes.InvalidInput;
            }

            var buildArgs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(args) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    await Console.Error.WriteLineAsync($"runner: --build-arg '{pair}' must be NAME=VALUE");
                    return ExitCodes.InvalidInput;
                }

                buildArgs[pair[..eq]] = pair[(eq + 1)..];
            }

            var settings = host.Settings;
            try
            {
                var runtime = ContainerRuntime.Create(settings.RuntimeOptions, Serilog.Log.Logger);
                var store = host.Images;
                var builder = new Ci.Isolation.Build.ImageBuilder(runtime, store, async r => await PullAsync(host, r, quiet: false, ct)
                    ?? throw new IsolationException($"cannot get base image {r}"), settings.StateDirectory);
                var image = await builder.BuildAsync(new Ci.Isolation.Build.BuildOptions(containerfile, dir, name!) { BuildArgs = buildArgs, NoCache = parse.GetValue(noCache) },
                    step => Console.Error.WriteLine($"[{step.Index}/{step.Count}] {(step.Cached ? "cached " : "")}{step.Instruction}"),
                    line => (line.Stream == OutputStream.Stdout ? Console.Out : Console.Error).WriteLine("  " + line.Text), ct);
                Console.WriteLine(image.Name);
                return ExitCodes.Ok;
            }
            catch (IsolationException ex)
            {
                await Console.Error.WriteLineAsync($"runner: build failed: {ex.Message}");
                return ExitCodes.JobFailed;
            }
        });
        return command;
    }

    private static Command Import(RunnerHost host)
    {
        var file = new Argument<string>("file") { Description = "A docker save archive, an OCI archive or layout directory, or a root file system tarball (.tar, .tar.gz)" };
        var tag = new Option<string>("--tag", "-t") { Description = "The image's name, such as mybox or registry.example/team/tool:1.2 (archives may carry their own)" };
        var command = new Command("import", "Import an image archive, or a root file system tarball as a one-layer image") { file, tag };
        command.SetAction(parse =>
        {
            var path = Path.GetFullPath(parse.GetValue(file)!);
            if (!Path.Exists(path))
            {
                Console.Error.WriteLine($"runner: {path}: no such file or directory");
                return ExitCodes.InvalidInput;
            }

            ImageReference? name = null;
            if (parse.GetValue(tag) is { } t && !ImageReference.TryParse(t, out name, out var error))
            {
                Console.Error.WriteLine($"runner: --tag: {error}");
                return ExitCodes.InvalidInput;
            }

            var archive = ArchiveImporter.IsImageArchive(path);
            if (!archive && Directory.Exists(path))
            {
                Console.Error.WriteLine($"runner: {path} is a directory but not an OCI image layout (it has no index.json); " +
                    "import an OCI layout directory, a docker save or OCI archive, or a root file system tarball");
                return ExitCodes.InvalidInput;
            }

            if (!archive && name is null)
            {
                Console.Error.WriteLine($"runner: {Path.GetFileName(path)} is a root file system tarball; name the image with --tag");
                return ExitCodes.InvalidInput;
            }

            try
            {
                var store = host.Images;
                var image = archive ? ArchiveImporter.Import(path, name, store) : store.ImportRootfs(path, name!);
                Console.WriteLine($"{image.Name} {image.Layers.Count} layer{(image.Layers.Count == 1 ? "" : "s")} {image.Layers[^1]}");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is IsolationException or InvalidDataException or FormatException)
            {
                // A broken or hostile archive is bad input: say which entry and why; the store keeps nothing of it.
                Console.Error.WriteLine($"runner: cannot import {Path.GetFileName(path)}: {ex.Message}");
                return ExitCodes.InvalidInput;
            }
        });
        return command;
    }

    private static Command List(RunnerHost host)
    {
        var command = new Command("ls", "List the images in the store");
        command.SetAction(parse =>
        {
            var store = host.Images;
            var images = store.List();
            // An image's size is what its layers take unpacked (shared layers counted in each image, as docker does).
            long? SizeOf(Image image) => image.Layers.Select(d => store.Layers.Find(Digest.Parse(d))).ToList() is var layers && layers.All(l => l is not null)
                ? layers.Sum(l => DiskUsage.OfImmutable(l!.Path))
                : null;
            if (parse.GetValue(GlobalOptions.Json))
            {
                JsonOutput.Write(Console.Out, images.Select(i => new ImageOutput(i.Name, i.Layers, i.Created, SizeOf(i))).ToList());
                return ExitCodes.Ok;
            }

            var table = new TextTable(["NAME", "LAYERS", "SIZE", "CREATED"], 1, 2);
            // The built-in image is always there: the host's own /usr, read-only, on the runner's skeleton layer.
            table.Add(HostImage.Name, "host", "-", "built in (pipelines without image: use it)");
            foreach (var image in images)
            {
                table.Add(image.Name, image.Layers.Count.ToString(CultureInfo.InvariantCulture), SizeOf(image) is { } size ? Units.FormatBytes(size) : "incomplete",
                    image.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            table.WriteTo(Console.Out);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Inspect(RunnerHost host)
    {
        var name = new Argument<string>("image") { Description = "The image to describe" };
        var command = new Command("inspect", "Describe an image as JSON: its layers (DiffIDs), config and blobs") { name };
        command.SetAction(parse =>
        {
            if (!ImageReference.TryParse(parse.GetValue(name)!, out var reference, out var error))
            {
                Console.Error.WriteLine($"runner: {error}");
                return ExitCodes.InvalidInput;
            }

            if (host.Images.Find(reference!) is not { } image)
            {
                Console.Error.WriteLine($"runner: no image {reference} in the store");
                return ExitCodes.InvalidInput;
            }

            JsonOutput.Write(Console.Out, image);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Export(RunnerHost host)
    {
        var name = new Argument<string>("image") { Description = "The image to export" };
        var output = new Option<string>("--output", "-o") { Description = "The archive to write (docker load and OCI tools read it)", Required = true };
        var command = new Command("export", "Write an image to an archive that docker load, skopeo and runner image import read") { name, output };
        command.SetAction(parse =>
        {
            if (!ImageReference.TryParse(parse.GetValue(name)!, out var reference, out var error))
            {
                Console.Error.WriteLine($"runner: {error}");
                return ExitCodes.InvalidInput;
            }

            var store = host.Images;
            if (store.Find(reference!) is not { } image)
            {
                Console.Error.WriteLine($"runner: no image {reference} in the store");
                return ExitCodes.InvalidInput;
            }

            try
            {
                ArchiveExporter.Export(image, store, Path.GetFullPath(parse.GetValue(output)!));
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is IsolationException or IOException)
            {
                Console.Error.WriteLine($"runner: cannot export {reference}: {ex.Message}");
                return ExitCodes.InternalError;
            }
        });
        return command;
    }

    private static Command Prune(RunnerHost host)
    {
        var command = new Command("prune", "Remove layers and blobs no image uses (never those of a running container), and say how much space that freed");
        command.SetAction(_ =>
        {
            var result = ImagePruner.Prune(host.Images, host.Settings.StateDirectory);
            Console.WriteLine($"removed {result.Layers} layer{(result.Layers == 1 ? "" : "s")} and {result.Blobs} blob{(result.Blobs == 1 ? "" : "s")}, freed {Units.FormatBytes(result.BytesFreed)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Remove(RunnerHost host)
    {
        var name = new Argument<string>("name") { Description = "The image to remove" };
        var command = new Command("rm", "Remove an image's name from the store (its layers stay until pruned)") { name };
        command.SetAction(parse =>
        {
            if (!ImageReference.TryParse(parse.GetValue(name)!, out var reference, out var error))
            {
                Console.Error.WriteLine($"runner: {error}");
                return ExitCodes.InvalidInput;
            }

            if (!host.Images.Remove(reference!))
            {
                Console.Error.WriteLine($"runner: no image {reference}");
                return ExitCodes.InvalidInput;
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
