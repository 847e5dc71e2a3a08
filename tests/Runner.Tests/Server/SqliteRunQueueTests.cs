using Ci.Pipeline.Model;
using Ci.Runner.Engine.Queue;

namespace Ci.Runner.Tests.Server;

/// <summary>The durable queue on its real SQLite file: one run per delivery, superseded runs, claims within limits, recovery after a kill.</summary>
public sealed class SqliteRunQueueTests
{
    private string _state = null!;

    [SetUp]
    public async Task SetUp() => _state = Directory.CreateTempSubdirectory("queue-").FullName;

    [TearDown]
    public async Task TearDown() => Directory.Delete(_state, true);

    private static RunTicket Ticket(string delivery, string branch = "main", string repository = "acme/app") => new()
    {
        Repository = repository, DeliveryKey = delivery, Event = TriggerEvent.Push, Branch = branch, Commit = new string('a', 40), Group = $"branch/{branch}",
    };

    [Test]
    public async Task The_same_delivery_twice_is_one_run_and_survives_reopening_the_store()
    {
        var first = await SqliteRunQueue.Open(_state).EnqueueAsync(Ticket("github:1"), supersede: true);
        var second = await SqliteRunQueue.Open(_state).EnqueueAsync(Ticket("github:1"), supersede: true);
        Assert.That((first.Created, second.Created, second.Run.Id), Is.EqualTo((true, false, first.Run.Id)));
        Assert.That(SqliteRunQueue.Open(_state).Waiting().Depth, Is.EqualTo(1));
    }

    [Test]
    public async Task A_newer_push_to_a_branch_cancels_its_queued_run_and_names_its_running_one_for_the_caller_to_stop()
    {
        var queue = SqliteRunQueue.Open(_state);
        var running = (await queue.EnqueueAsync(Ticket("1"), true)).Run;
        queue.Claim("owner", _ => true);
        var waiting = (await queue.EnqueueAsync(Ticket("2"), true)).Run;
        var other = (await queue.EnqueueAsync(Ticket("3", "dev"), true)).Run;
        var newest = await queue.EnqueueAsync(Ticket("4"), true);
        Assert.That(newest.Superseded.Select(r => (r.Id, r.State)), Is.EquivalentTo(new[] { (running.Id, QueueState.Running), (waiting.Id, QueueState.Queued) }));
        Assert.That((queue.Find(waiting.Id)!.Status, queue.Find(waiting.Id)!.Note), Is.EqualTo(("cancelled", $"superseded by run {newest.Run.Id}")));
        Assert.That(queue.Find(other.Id)!.State, Is.EqualTo(QueueState.Queued), "another branch's run is not touched");
    }

    [Test]
    public async Task Claims_take_the_oldest_run_the_limits_admit()
    {
        var queue = SqliteRunQueue.Open(_state);
        var a = (await queue.EnqueueAsync(Ticket("1", repository: "acme/a"), false)).Run;
        var b = (await queue.EnqueueAsync(Ticket("2", repository: "acme/b"), false)).Run;
        Assert.That(queue.Claim("me", repository => repository != "acme/a")!.Id, Is.EqualTo(b.Id));
        Assert.That(queue.Claim("me", _ => true)!.Id, Is.EqualTo(a.Id));
        Assert.That(queue.Claim("me", _ => true), Is.Null);
    }

    [Test]
    public async Task Runs_of_a_dead_owner_are_queued_again_once_and_end_as_an_error_the_second_time()
    {
        var queue = SqliteRunQueue.Open(_state);
        var run = (await queue.EnqueueAsync(Ticket("1"), false)).Run;
        queue.Claim("dead-1", _ => true);
        Assert.That(queue.Recover(owner => owner != "dead-1", maxAttempts: 2).Select(r => r.Id), Is.EqualTo(new[] { run.Id }));
        var again = queue.Find(run.Id)!;
        Assert.That((again.State, again.Note), Is.EqualTo((QueueState.Queued, "retry: the server was restarted while this run was running")));

        queue.Claim("dead-2", _ => true);
        queue.Recover(owner => false, maxAttempts: 2);
        var ended = queue.Find(run.Id)!;
        Assert.That((ended.State, ended.Status, ended.Attempt), Is.EqualTo((QueueState.Done, "error", 2)));
    }

    [Test]
    public async Task Enqueues_that_arrive_together_share_commits_and_each_delivery_is_stored_once()
    {
        var queue = SqliteRunQueue.Open(_state);
        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(() => queue.EnqueueAsync(Ticket($"github:{i % 200}", $"b{i % 200}"), true))));
        Assert.That(results.Count(r => r.Created), Is.EqualTo(200));
        Assert.That(results.Select(r => r.Run.Id).Distinct().Count(), Is.EqualTo(200));
        Assert.That(SqliteRunQueue.Open(_state).Waiting().Depth, Is.EqualTo(200));
    }
}
