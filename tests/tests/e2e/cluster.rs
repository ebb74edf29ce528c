//! presence on a real 3-master Redis Cluster (`redis.mode = "cluster"`): two
//! servers and gc, the multi-server scenarios of a single Redis, expiry reaping
//! on every master, the sweep after gc was away, and a master failing over.

use std::collections::HashMap;
use std::time::Duration;

use presence_core::config::{RedisConfig, RedisMode};
use presence_core::{Keys, PostId, RedisStore, SessionId, Store};
use presence_tests::redis_cluster::RedisCluster;
use presence_tests::{GcProcess, Reader, ServerProcess, eventually};
use redis::AsyncCommands;
use serde_json::Value;

use presence_tests::api;

const GC_WAIT: Duration = Duration::from_secs(20);
/// Long enough that a test can tell an event-driven reap from a sweep.
const NO_SWEEP: &str = "3600";

fn cluster_settings(cluster: &RedisCluster) -> Vec<(&'static str, String)> {
    vec![
        ("PRESENCE_REDIS__MODE", "cluster".to_owned()),
        ("PRESENCE_REDIS__URL", cluster.url()),
    ]
}

fn settings<'a>(
    owned: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    all
}

/// Posts whose keys live on different masters: `per_master` for each master.
fn posts_on_every_master(cluster: &RedisCluster, per_master: usize) -> Vec<String> {
    let keys = Keys::cluster("");
    let mut by_master: HashMap<u16, Vec<String>> = HashMap::new();
    for n in 1..10_000 {
        let post = n.to_string();
        let master = cluster.master_of(&keys.readers(&PostId::parse(&post).unwrap()));
        let posts = by_master.entry(master).or_default();
        if posts.len() < per_master {
            posts.push(post);
        }
        if by_master.len() == cluster.master_ports().len()
            && by_master.values().all(|posts| posts.len() == per_master)
        {
            break;
        }
    }
    by_master.into_values().flatten().collect()
}

fn store(cluster: &RedisCluster, ttl: Duration) -> RedisStore {
    let config = RedisConfig {
        url: cluster.url(),
        mode: RedisMode::Cluster,
        ..RedisConfig::default()
    };
    RedisStore::connect(&config, Keys::cluster(""), ttl).unwrap()
}

async fn cluster_connection(cluster: &RedisCluster) -> redis::cluster_async::ClusterConnection {
    let urls: Vec<String> = cluster.url().split(',').map(str::to_owned).collect();
    redis::cluster::ClusterClient::new(urls)
        .unwrap()
        .get_async_connection()
        .await
        .unwrap()
}

/// Every post's readers straight from Redis, and how often each session occurs.
async fn recorded(
    cluster: &RedisCluster,
    posts: &[String],
) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let keys = Keys::cluster("");
    let mut conn = cluster_connection(cluster).await;
    let mut counts = HashMap::new();
    let mut sessions: HashMap<String, usize> = HashMap::new();
    for post in posts {
        let members: Vec<String> = conn
            .smembers(keys.readers(&PostId::parse(post).unwrap()))
            .await
            .unwrap();
        for member in &members {
            *sessions.entry(member.clone()).or_default() += 1;
        }
        counts.insert(post.clone(), members.len());
    }
    (counts, sessions)
}

async fn site_stats(url: &str) -> (u64, u64) {
    let stats = api(url, "/api/stats").await;
    (
        stats["viewers"].as_u64().unwrap(),
        stats["posts"].as_u64().unwrap(),
    )
}

/// Two servers and gc on a 3-master cluster: readers on both see every join,
/// move (within and across shards, so across masters) and leave; the store, the
/// site-wide figures and the pushed counts agree exactly; nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_gc_keep_exact_counts_on_a_cluster() {
    let cluster = RedisCluster::start(3, 0);
    let owned = cluster_settings(&cluster);
    let env = settings(&owned, &[]);
    let _gc = GcProcess::start(&env).await;
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let posts = posts_on_every_master(&cluster, 2);
    assert_eq!(posts.len(), 6);

    // Post i gets i + 1 readers, alternating servers.
    let mut readers = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        for r in 0..=i {
            let server = if r % 2 == 0 { &a } else { &b };
            readers.push((
                post.clone(),
                Reader::viewing(&server.url(), post.as_str()).await,
            ));
        }
    }
    for (post, reader) in &readers {
        let expected = posts.iter().position(|p| p == post).unwrap() as u64 + 1;
        reader.wait_for_count(post, expected).await;
    }
    assert_eq!(site_stats(&a.url()).await, (21, 6));
    // Ready means every node answers (PING goes to all of them).
    let ready = reqwest::get(format!("{}/readyz", b.url())).await.unwrap();
    assert_eq!(ready.status(), 200);
    let top = api(&b.url(), "/api/top?limit=2").await;
    assert_eq!(top["posts"][0]["post_id"], posts[5].as_str());
    assert_eq!(top["posts"][0]["viewers"], 6);
    assert_eq!(top["posts"][1]["viewers"], 5);

    // The first reader of the busiest post moves to the quietest one, on
    // another master: one leave in one shard, one join in the other.
    let (from, to) = (posts[5].clone(), posts[0].clone());
    let mover = readers.iter().position(|(post, _)| *post == from).unwrap();
    readers[mover].1.view(to.as_str()).await;
    readers[mover].0 = to.clone();
    for (post, reader) in &readers {
        let expected = if *post == from {
            5
        } else if *post == to {
            2
        } else {
            posts.iter().position(|p| p == post).unwrap() as u64 + 1
        };
        reader.wait_for_count(post, expected).await;
    }
    let (counts, sessions) = recorded(&cluster, &posts).await;
    assert_eq!(counts[&from], 5);
    assert_eq!(counts[&to], 2);
    assert!(
        sessions.values().all(|n| *n == 1),
        "a session in two sets: {sessions:?}"
    );
    assert_eq!(sessions.len(), 21);

    for (_, reader) in readers.drain(..) {
        reader.leave().await;
    }
    eventually("the cluster to empty", GC_WAIT, async || {
        let (counts, _) = recorded(&cluster, &posts).await;
        (counts.values().all(|n| *n == 0) && site_stats(&a.url()).await == (0, 0)).then_some(())
    })
    .await;
}

/// Sessions of a crashed server, on posts of every master, expire; gc hears
/// each master's own expiry events and reaps them; the readers see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_reaps_expired_sessions_on_every_master() {
    let cluster = RedisCluster::start(3, 0);
    let owned = cluster_settings(&cluster);
    let gc = GcProcess::start(&settings(
        &owned,
        &[("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP)],
    ))
    .await;
    let server = ServerProcess::start(&settings(&owned, &[])).await;
    let posts = posts_on_every_master(&cluster, 1);
    let mut readers = Vec::new();
    for post in &posts {
        readers.push(Reader::viewing(&server.url(), post.as_str()).await);
    }

    let ghosts = store(&cluster, Duration::from_secs(1));
    for (i, post) in posts.iter().enumerate() {
        let session = SessionId::parse(&format!("ghost{i}")).unwrap();
        ghosts
            .view(&session, &PostId::parse(post).unwrap(), None, false)
            .await
            .unwrap();
    }
    for (post, reader) in posts.iter().zip(&readers) {
        reader.wait_for_count(post, 2).await;
    }
    // Each ghost's key expires on its own master; gc reaps; readers see 1.
    for (post, reader) in posts.iter().zip(&readers) {
        reader.wait_for_count(post, 1).await;
    }
    eventually("gc to count the reaps", GC_WAIT, async || {
        gc.metric("presence_gc_reaped_expired_sessions_total")
            .await
            .filter(|n| *n == posts.len() as f64)
    })
    .await;
    assert_eq!(
        gc.metric("presence_gc_swept_sessions_total").await,
        Some(0.0)
    );
    assert_eq!(site_stats(&server.url()).await, (3, 3));
}

/// Ghosts on every master expire while gc is down (their events are lost);
/// gc's first sweep covers every master and cleans up sets, hashes and index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sweep_cleans_every_master_after_gc_was_down() {
    let cluster = RedisCluster::start(3, 0);
    let owned = cluster_settings(&cluster);
    let env = settings(&owned, &[("PRESENCE_GC__SWEEP_INTERVAL_SECS", NO_SWEEP)]);
    let mut gc = GcProcess::start(&env).await;
    gc.daemon.terminate();

    let posts = posts_on_every_master(&cluster, 3);
    let ghosts = store(&cluster, Duration::from_secs(1));
    let keys = Keys::cluster("");
    let mut sessions = Vec::new();
    for (i, post) in posts.iter().cycle().take(30).enumerate() {
        let session = SessionId::parse(&format!("g{i}")).unwrap();
        let post = PostId::parse(post).unwrap();
        ghosts.view(&session, &post, None, false).await.unwrap();
        sessions.push((session, post));
    }
    let mut conn = cluster_connection(&cluster).await;
    eventually("every ghost's key to expire", GC_WAIT, async || {
        for (session, post) in &sessions {
            let alive: bool = conn
                .exists(keys.session(session, keys.shard_of(post)))
                .await
                .unwrap();
            if alive {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_eq!(
        ghosts.site_stats().await.unwrap().viewers,
        30,
        "nobody reaped them"
    );

    let gc = GcProcess::start(&env).await;
    eventually(
        "the first sweep to clean every master",
        GC_WAIT,
        async || {
            let stats = ghosts.site_stats().await.ok()?;
            let (counts, _) = recorded(&cluster, &posts).await;
            (stats.viewers == 0 && stats.posts == 0 && counts.values().all(|n| *n == 0))
                .then_some(())
        },
    )
    .await;
    eventually("gc to count the sweep", GC_WAIT, async || {
        gc.metric("presence_gc_swept_sessions_total")
            .await
            .filter(|n| *n == 30.0)
    })
    .await;
}

/// A master with a replica is killed: the replica is promoted, the servers and
/// gc follow, counts are right again and no session is counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_are_right_again_after_a_master_fails_over() {
    let mut cluster = RedisCluster::start(3, 1);
    let owned = cluster_settings(&cluster);
    let env = settings(&owned, &[]);
    let _gc = GcProcess::start(&env).await;
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let posts = posts_on_every_master(&cluster, 2);
    let mut readers = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        for r in 0..3 {
            let server = if (i + r) % 2 == 0 { &a } else { &b };
            readers.push((
                post.clone(),
                Reader::viewing(&server.url(), post.as_str()).await,
            ));
        }
    }
    for (post, reader) in &readers {
        reader.wait_for_count(post, 3).await;
    }

    let keys = Keys::cluster("");
    let victim = cluster.master_of(&keys.readers(&PostId::parse(&posts[0]).unwrap()));
    cluster.node(victim).stop();
    cluster.wait_until_ok(Duration::from_secs(30));
    assert!(!cluster.master_ports().contains(&victim));

    // The servers keep their readers alive on the promoted replica (re-recording
    // any the failover lost) and tell them the counts again.
    let ids = posts.join(",");
    eventually(
        "counts to be right again",
        Duration::from_secs(30),
        async || {
            let answer: Value = api(&a.url(), &format!("/api/posts?ids={ids}")).await;
            let all_three = answer["posts"]
                .as_array()?
                .iter()
                .all(|post| post["viewers"] == 3);
            (all_three && site_stats(&b.url()).await == (18, 6)).then_some(())
        },
    )
    .await;
    let (counts, sessions) = recorded(&cluster, &posts).await;
    assert!(counts.values().all(|n| *n == 3), "{counts:?}");
    assert!(
        sessions.values().all(|n| *n == 1),
        "a session counted twice: {sessions:?}"
    );
    for (post, reader) in &readers {
        reader.wait_for_count(post, 3).await;
    }

    // And the cluster still moves: a reader leaves, everyone on that post sees it.
    let (post, leaving) = readers.remove(0);
    leaving.leave().await;
    for (other_post, reader) in &readers {
        if *other_post == post {
            reader.wait_for_count(&post, 2).await;
        }
    }
}
