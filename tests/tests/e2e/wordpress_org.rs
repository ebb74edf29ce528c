//! The plugin as a WordPress.org reviewer and a site owner outside the English-speaking
//! world meet it (issues 18 and 20), in a real WordPress (tests/src/wordpress):
//!
//! - the zip from `scripts/build-plugin-zip` installs through Plugins → Add New → Upload
//!   Plugin, and activates;
//! - a rejected setting (a `javascript:` URL, a negative number) shows its error and keeps
//!   the previous value;
//! - a test locale (a `.mo` this test builds with `msgfmt`) changes what a reader sees:
//!   the count, and the notice bar's text, links and button;
//! - the privacy policy guide carries the plugin's text;
//! - deleting the plugin on the Plugins screen leaves no row in options (transients and
//!   widget options included) or postmeta that mentions it, on a single site and on
//!   every site of a multisite network, where network activation works.

use std::path::{Path, PathBuf};
use std::process::Command;

use presence_tests::ServerProcess;
use presence_tests::binaries::workspace_root;
use presence_tests::package::stdout_of as run;
use presence_tests::wordpress::{Version, WordPress};
use serde_json::{Value, json};

/// presence-server's notices token in these tests (at least 16 characters).
const NOTICES_TOKEN: &str = "wporg-test-notices-token";

/// The test locale: German texts for what a reader sees.
const LOCALE: &str = "de_DE";
const TRANSLATIONS: [(&str, &str); 7] = [
    ("Just you", "Nur Sie"),
    ("{total} people reading", "{total} Personen lesen"),
    // A plural form (context, U+0004, text, as gettext keys them): German's CLDR category
    // "one" of a list's "{total} reading".
    (
        "plural category one\u{4}{total} reading",
        "{total} Person liest",
    ),
    (
        "This post was updated.",
        "Dieser Beitrag wurde aktualisiert.",
    ),
    ("Reload", "Neu laden"),
    ("More", "Mehr"),
    ("Dismiss", "Schließen"),
];

/// Rows core WordPress itself keeps about any plugin it knows of, which a plugin's
/// uninstall must not touch: `recently_activated` (deactivated plugins, kept a week), the
/// update check's cache, the privacy guide's record. The check prints them, and fails on
/// any other row.
const CORE_BOOKKEEPING: [&str; 5] = [
    "recently_activated",
    "_site_transient_update_plugins",
    "_site_transient_timeout_update_plugins",
    // The privacy policy page's record of suggested texts: core marks a removed plugin's
    // text "removed" there, to tell the owner their policy may need a change.
    "_wp_suggested_privacy_policy_content",
    // Not about the plugin: the name of the test site ("Presence test site").
    "blogname",
];

#[tokio::test]
async fn the_zip_installs_settings_refuse_and_a_locale_translates_what_readers_see() {
    let server = ServerProcess::start(&[("PRESENCE_NOTICES__TOKEN", NOTICES_TOKEN)]).await;
    let wp = WordPress::start(Version::Playground).await;

    // Issue 20: the zip, uploaded as a site owner does (the harness's own copy goes first).
    std::fs::remove_dir_all(wp.root().join("wp-content/plugins/presence")).unwrap();
    let dist = temp_dir("zip");
    let zip = build_zip(&dist);
    let upload = steps(&wp, json!([{ "do": "upload", "zip": zip }])).await;
    println!("upload: {}", upload[0]);
    assert_eq!(upload[0]["active"], true, "the uploaded plugin is active");
    assert!(
        wp.root()
            .join("wp-content/plugins/presence/presence.php")
            .is_file(),
        "the zip unpacked into wp-content/plugins/presence"
    );

    let posts = wp
        .set_up(
            &[("presence_server_url", &server.url())],
            "twentytwentythree",
            &["Ein Beitrag"],
        )
        .await;
    let post = &posts[0];

    // Issue 18: settings say what they refused, and keep the value.
    let results = steps(
        &wp,
        json!([
            { "do": "settings", "fields": { "presence_notices_token[value]": NOTICES_TOKEN } },
            { "do": "settings", "fields": { "presence_server_url": "javascript:alert(1)" } },
            { "do": "settings", "fields": { "presence_server_url": "ftp://127.0.0.1/" } },
            { "do": "settings", "fields": { "presence_idle_seconds": "-5" } },
            { "do": "settings", "fields": { "presence_server_url": "ftp://127.0.0.1/<b>bold</b>" } },
        ]),
    )
    .await;
    for result in &results {
        println!("settings: {result}");
    }
    assert!(errors(&results[0]).is_empty(), "the token is accepted");
    for (result, refused) in results[1..3].iter().zip(["javascript:alert(1)", "ftp://"]) {
        let errors = errors(result);
        assert!(
            errors
                .iter()
                .any(|e| e.contains(refused) && e.contains("not an http:// or https:// URL")),
            "the refused URL {refused} has its error: {result}"
        );
        assert!(
            !successes(result)
                .iter()
                .any(|s| s.contains("Settings saved")),
            "no \"Settings saved.\" over a refused value: {result}"
        );
        assert_eq!(result["values"]["presence_server_url"], server.url());
    }
    assert!(
        errors(&results[3])
            .iter()
            .any(|e| e.contains("\"-5\" is not a whole number from 0 to 86400")),
        "the negative number has its error: {}",
        results[3]
    );
    assert_eq!(results[3]["values"]["presence_idle_seconds"], "0");
    // The refused value is shown as text, its markup escaped (review S2): the error's text
    // has the tags themselves, which it would not if the browser had parsed them.
    assert!(
        errors(&results[4]).iter().any(
            |e| e.contains("\"ftp://127.0.0.1/<b>bold</b>\" is not an http:// or https:// URL")
        ),
        "the refused value with markup is shown escaped: {}",
        results[4]
    );
    assert_eq!(results[4]["values"]["presence_server_url"], server.url());

    // Review S11: an "updated" notice is queued for a save in a post editor (the block
    // editor's REST save), for the user who saved; a save from elsewhere (here a script,
    // as WP-CLI, cron or an importer would) queues none, since nobody could send it.
    let pending = |wp: &WordPress| {
        php(
            wp,
            &format!(
                "echo wp_json_encode( get_post_meta( {}, '_presence_notice_pending', true ) );",
                post.id
            ),
        )
    };
    php(
        &wp,
        &format!(
            "wp_update_post( array( 'ID' => {}, 'post_content' => 'Changed by a script.' ) );",
            post.id
        ),
    );
    let by_script = pending(&wp);
    println!("queued by a script's save: {by_script}");
    assert_eq!(
        by_script.trim(),
        "\"\"",
        "a save outside the editors queues no notice"
    );
    wp.admin(json!([{ "do": "update", "id": post.id, "fields": { "content": "Changed in the editor." } }]))
        .await;
    let by_editor: Value = serde_json::from_str(pending(&wp).trim()).unwrap();
    println!("queued by the editor's save: {by_editor}");
    assert_eq!(by_editor[0]["notice"]["kind"], "updated", "{by_editor}");
    assert_eq!(
        by_editor[0]["user"], 1,
        "queued for the admin who saved: {by_editor}"
    );

    // Review S12: a draft's preview is not counted (no post id for presence.js).
    let draft = wp
        .publish(
            "posts",
            json!({ "title": "A draft", "content": "Not yet.", "status": "draft" }),
        )
        .await;
    let draft_id = draft["id"].as_u64().unwrap();
    let preview = wp
        .admin(json!([{ "do": "visit", "path": format!("/?p={draft_id}&preview=true") }]))
        .await;
    println!("draft preview: {}", preview[0]);
    assert!(
        preview[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("A draft"),
        "the preview shows the draft: {}",
        preview[0]
    );
    assert_eq!(
        preview[0]["postId"],
        Value::Null,
        "a draft's preview is not counted: {}",
        preview[0]
    );

    // The privacy policy guide (Settings → Privacy) carries the plugin's text.
    let privacy = steps(&wp, json!([{ "do": "privacy" }])).await;
    let guide = privacy[0]["guide"].as_str().unwrap_or_default();
    assert!(
        guide.contains("Presence")
            && guide.contains("your browser connects to our presence service"),
        "the privacy guide has the plugin's text: {guide}"
    );

    // A test locale, as a site owner adds one for a self-hosted copy: languages/*.mo.
    let mo = wp.root().join(format!(
        "wp-content/plugins/presence/languages/presence-{LOCALE}.mo"
    ));
    build_mo(&dist, &mo, &TRANSLATIONS);
    // WordPress offers (and accepts) a site language once wp-content/languages has its
    // core .mo: an empty one will do, so the rest of the site stays English.
    let core = wp.root().join("wp-content/languages");
    std::fs::create_dir_all(&core).unwrap();
    build_mo(&dist, &core.join(format!("{LOCALE}.mo")), &[]);
    let locale = php(
        &wp,
        &format!("update_option( 'WPLANG', '{LOCALE}' ); echo get_option( 'WPLANG' );"),
    );
    assert_eq!(locale.trim(), LOCALE, "the site's language");
    let reader = steps(
        &wp,
        json!([{
            "do": "reader",
            "url": post.link,
            "server": server.url(),
            "token": NOTICES_TOKEN,
            "post": post.id,
        }]),
    )
    .await;
    let reader = &reader[0];
    println!("reader in {LOCALE}: {reader}");
    // Review S6: the plugin hands a badge the translated plural forms (only those), which
    // presence.js picks by the page's language (tests/js/browser/embed.test.mjs).
    let badge = php(&wp, &format!("echo presence_badge_html( {} );", post.id));
    println!("badge in {LOCALE}: {badge}");
    assert!(
        badge.contains(r#"data-presence-template-one="{total} Person liest""#)
            && !badge.contains("data-presence-template-few"),
        "the badge carries the translated plural form, and only that: {badge}"
    );
    assert_eq!(reader["lang"], "de-DE");
    assert_eq!(reader["alone"], "Nur Sie");
    assert_eq!(reader["two"], "2 Personen lesen");
    assert_eq!(
        reader["updated"],
        json!({ "text": "Dieser Beitrag wurde aktualisiert.", "link": "Neu laden", "dismiss": "Schließen" })
    );
    assert_eq!(
        reader["text"],
        json!({ "text": "Hallo", "link": "Mehr", "dismiss": "Schließen" })
    );

    // Uninstall, single site.
    seed_what_the_plugin_ever_wrote(&wp, post.id);
    let before = mentions(&wp);
    println!("before deleting: {before}");
    for table in ["options", "postmeta"] {
        assert!(
            !before["sites"][0][table].as_array().unwrap().is_empty(),
            "the plugin's {table} rows are there before deleting it: {before}"
        );
    }
    let deleted = steps(&wp, json!([{ "do": "delete" }])).await;
    println!("delete: {}", deleted[0]);
    assert_eq!(deleted[0]["deleted"], true);
    assert!(!wp.root().join("wp-content/plugins/presence").exists());
    assert_nothing_left(&mentions(&wp));
    assert!(
        wp.plugin_messages().is_empty(),
        "{:?}",
        wp.plugin_messages()
    );
    let _ = std::fs::remove_dir_all(&dist);
}

#[tokio::test]
async fn on_a_multisite_network_activation_works_and_uninstall_leaves_nothing_on_any_site() {
    let server = ServerProcess::start(&[("PRESENCE_NOTICES__TOKEN", NOTICES_TOKEN)]).await;
    let wp = WordPress::start(Version::Debian).await;
    make_network(&wp);
    // The network's cookies are named after its address: log in again.
    wp.admin(json!([{ "do": "login" }])).await;
    let second = php(
        &wp,
        r#"// wp_insert_site() drops the ":" of host:port (sanitize_user); these tests' sites have ports.
add_filter( 'wp_normalize_site_data', function ( $data ) use ( $presence_host ) { if ( isset( $data['domain'] ) ) { $data['domain'] = $presence_host; } return $data; }, 20 );
$site = wp_insert_site( array( 'domain' => $presence_host, 'path' => '/second/', 'title' => 'Second', 'user_id' => 1 ) );
if ( is_wp_error( $site ) ) { fwrite( STDERR, $site->get_error_message() ); exit( 1 ); }
switch_to_blog( $site );
$post = wp_insert_post( array( 'post_title' => 'Second site post', 'post_content' => 'Read me.', 'post_status' => 'publish' ) );
echo wp_json_encode( array( 'site' => $site, 'post' => $post, 'link' => get_permalink( $post ) ) );"#,
    );
    let second: Value = serde_json::from_str(&second).unwrap();
    println!("second site: {second}");

    let activated = steps(&wp, json!([{ "do": "network-activate" }])).await;
    assert_eq!(activated[0]["active"], true, "{}", activated[0]);
    // Each site has its own settings; the second site's front end shows the count.
    php(
        &wp,
        &format!(
            "switch_to_blog( {} ); update_option( 'presence_server_url', '{}' );",
            second["site"],
            server.url()
        ),
    );
    let link = second["link"].as_str().unwrap();
    let (status, html) = presence_tests::binaries::http_get(link).await.unwrap();
    assert_eq!(status, 200, "{link}");
    assert!(
        html.contains("wp-block-presence-readers-now") && html.contains("presence-loader"),
        "the network-activated plugin shows the count on the second site ({link}):\n{}",
        &html[..html.len().min(3000)]
    );
    // Review S1: the sites of a network share one presence-server and their post ids
    // overlap, so a post is counted under "<blog_id>-<post_id>"; readers of the second
    // site's post are counted, and get its notices, under that key.
    let key = format!("{}-{}", second["site"], second["post"]);
    assert!(
        html.contains(&format!("\"data-post-id\":\"{key}\"")),
        "the second site's post is counted as {key} ({link}):\n{}",
        &html[html.find("presence-loader").unwrap_or(0)..]
    );
    let reader = steps(
        &wp,
        json!([{ "do": "reader", "url": link, "server": server.url(), "token": NOTICES_TOKEN, "post": key }]),
    )
    .await;
    println!("reader of {key}: {}", reader[0]);
    assert_eq!(reader[0]["two"], "2 people reading", "{}", reader[0]);
    assert_eq!(
        reader[0]["updated"]["text"], "This post was updated.",
        "the notice for {key} reached its reader: {}",
        reader[0]
    );

    for site in [1, second["site"].as_u64().unwrap()] {
        php(
            &wp,
            &format!("switch_to_blog( {site} ); update_option( 'presence_placement', 'content' );"),
        );
        let post = php(
            &wp,
            &format!(
                "switch_to_blog( {site} ); echo (int) get_posts( array( 'numberposts' => 1, 'fields' => 'ids' ) )[0];"
            ),
        );
        seed_what_the_plugin_ever_wrote_on(&wp, site, post.trim().parse().unwrap());
    }
    let before = mentions(&wp);
    println!("before deleting: {before}");
    assert_eq!(before["sites"].as_array().unwrap().len(), 2);
    for site in before["sites"].as_array().unwrap() {
        assert!(
            !site["options"].as_array().unwrap().is_empty(),
            "rows before: {site}"
        );
    }
    let deleted = steps(
        &wp,
        json!([{ "do": "network-deactivate" }, { "do": "delete", "network": true }]),
    )
    .await;
    println!("delete: {}", deleted[1]);
    assert_eq!(deleted[1]["deleted"], true);
    assert_nothing_left(&mentions(&wp));
}

/// Runs steps of `tests/js/browser/wordpress-org.mjs` as the logged-in admin.
async fn steps(wp: &WordPress, steps: Value) -> Vec<Value> {
    wp.steps("browser/wordpress-org.mjs", steps).await
}

fn texts(result: &Value, kind: &str) -> Vec<String> {
    result[kind]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn errors(result: &Value) -> Vec<String> {
    texts(result, "error")
}

fn successes(result: &Value) -> Vec<String> {
    texts(result, "success")
}

/// A fresh directory of this test's own under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "presence-wporg-{}-{name}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The plugin zip, built by the command the README gives.
fn build_zip(dist: &Path) -> String {
    let stdout = run(Command::new(workspace_root().join("scripts/build-plugin-zip")).arg(dist));
    let zip = stdout.lines().last().unwrap().trim().to_owned();
    assert!(zip.ends_with(".zip") && Path::new(&zip).is_file(), "{zip}");
    zip
}

/// A `.mo` of the test locale, compiled with `msgfmt --check` from a `.po` written here.
fn build_mo(dir: &Path, mo: &Path, translations: &[(&str, &str)]) {
    let mut po = String::from(
        "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\"Language: de_DE\\n\"\n\"Plural-Forms: nplurals=2; plural=(n != 1);\\n\"\n\n",
    );
    for (english, german) in translations {
        if let Some((context, english)) = english.split_once('\u{4}') {
            po.push_str(&format!("msgctxt \"{context}\"\n"));
            po.push_str(&format!("msgid \"{english}\"\nmsgstr \"{german}\"\n\n"));
        } else {
            po.push_str(&format!("msgid \"{english}\"\nmsgstr \"{german}\"\n\n"));
        }
    }
    let path = dir.join(mo.file_name().unwrap()).with_extension("po");
    std::fs::write(&path, po).unwrap();
    run(Command::new("msgfmt")
        .arg("--check")
        .arg("-o")
        .arg(mo)
        .arg(&path));
}

/// Runs PHP in the site (wp-load.php), as the CLI would; `$presence_host` is the site's
/// host:port. Returns what it prints.
fn php(wp: &WordPress, code: &str) -> String {
    let host = wp.url().trim_start_matches("http://").to_owned();
    let script = format!(
        "<?php\n$presence_host = '{host}';\n$_SERVER['HTTP_HOST'] = $presence_host;\n$_SERVER['REQUEST_URI'] = '/';\nrequire '{}/wp-load.php';\n{code}\n",
        wp.root().display()
    );
    let dir = temp_dir("php");
    let path = dir.join("run.php");
    std::fs::write(&path, script).unwrap();
    let out = run(Command::new("php")
        .args([
            "-d",
            "display_errors=stderr",
            "-d",
            "error_reporting=E_ALL & ~E_DEPRECATED",
        ])
        .arg(&path));
    let _ = std::fs::remove_dir_all(dir);
    out
}

/// Turns the installed site into a multisite network with subdirectory sites, as Tools →
/// Network Setup and its wp-config.php lines do.
fn make_network(wp: &WordPress) {
    php(
        wp,
        r#"define( 'WP_INSTALLING_NETWORK', true );
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/network.php';
wp_set_current_user( 1 );
// As wp-admin/network.php does: a single site's $wpdb has no names for the network tables.
foreach ( $wpdb->tables( 'ms_global' ) as $table => $prefixed_table ) { $wpdb->$table = $prefixed_table; }
install_network();
$result = populate_network( 1, $presence_host, 'admin@example.com', 'Test network', '/', false );
if ( is_wp_error( $result ) ) { fwrite( STDERR, $result->get_error_message() ); exit( 1 ); }"#,
    );
    let config = wp.root().join("wp-config.php");
    let text = std::fs::read_to_string(&config).unwrap();
    let host = wp.url().trim_start_matches("http://").to_owned();
    let constants = format!(
        "define( 'WP_ALLOW_MULTISITE', true );\ndefine( 'MULTISITE', true );\ndefine( 'SUBDOMAIN_INSTALL', false );\ndefine( 'DOMAIN_CURRENT_SITE', '{host}' );\ndefine( 'PATH_CURRENT_SITE', '/' );\ndefine( 'SITE_ID_CURRENT_SITE', 1 );\ndefine( 'BLOG_ID_CURRENT_SITE', 1 );\n"
    );
    let marker = "if ( ! defined( 'ABSPATH' ) )";
    assert!(text.contains(marker), "wp-config.php: {text}");
    // WP_HOME and WP_SITEURL would give every site the main site's address.
    let text: String = text
        .lines()
        .filter(|line| !line.contains("'WP_HOME'") && !line.contains("'WP_SITEURL'"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(
        &config,
        text.replacen(marker, &format!("{constants}{marker}"), 1),
    )
    .unwrap();
}

fn seed_what_the_plugin_ever_wrote(wp: &WordPress, post: u64) {
    seed_what_the_plugin_ever_wrote_on(wp, 1, post);
}

/// What the plugin writes besides its settings (which the form saved): its widgets in a
/// sidebar, a post's "Notify readers" choice and queued notices; and what 1.x wrote: API
/// caches and notice results in transients, `_presence_notice_last`. Names as the plugin
/// writes them.
fn seed_what_the_plugin_ever_wrote_on(wp: &WordPress, site: u64, post: u64) {
    php(
        wp,
        &format!(
            r#"if ( is_multisite() ) {{ switch_to_blog( {site} ); }}
update_option( 'widget_presence_widget', array( 2 => array( 'title' => 'Readers' ), '_multiwidget' => 1 ) );
update_option( 'widget_presence_popular_widget', array( 3 => array( 'title' => 'Popular', 'limit' => 5 ), '_multiwidget' => 1 ) );
$sidebars = get_option( 'sidebars_widgets', array() );
$sidebars['sidebar-1'] = array_merge( isset( $sidebars['sidebar-1'] ) ? (array) $sidebars['sidebar-1'] : array(), array( 'presence_widget-2', 'presence_popular_widget-3' ) );
update_option( 'sidebars_widgets', $sidebars );
set_transient( 'presence_api_' . md5( 'http://127.0.0.1:1/api/stats' ), array( 'ok' => true, 'data' => array() ), 3600 );
set_transient( 'presence_notice_result_1', array( 'sent' => 1 ), 60 );
update_post_meta( {post}, '_presence_notify', '0' );
update_post_meta( {post}, '_presence_notice_pending', array( array( 'notice' => array( 'kind' => 'updated' ) ) ) );
update_post_meta( {post}, '_presence_notice_last', time() );
update_option( 'presence_token_hours', 24 );"#
        ),
    );
}

/// Every row that mentions the plugin, per site: options (and so transients and widget
/// options) named after it or holding its name, postmeta named after it; and the
/// network's sitemeta. Core's own bookkeeping rows are listed apart.
fn mentions(wp: &WordPress) -> Value {
    let out = php(
        wp,
        r#"global $wpdb;
$like = '%presence%';
$sites = array();
foreach ( ( is_multisite() ? get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) : array( 1 ) ) as $site ) {
	if ( is_multisite() ) { switch_to_blog( $site ); }
	$options = $wpdb->get_results( $wpdb->prepare( "SELECT option_name, LEFT(option_value, 200) AS value FROM {$wpdb->options} WHERE option_name LIKE %s OR option_value LIKE %s ORDER BY option_name", $like, $like ), ARRAY_A );
	$meta = $wpdb->get_results( $wpdb->prepare( "SELECT post_id, meta_key, LEFT(meta_value, 200) AS value FROM {$wpdb->postmeta} WHERE meta_key LIKE %s OR meta_value LIKE %s ORDER BY meta_key", $like, $like ), ARRAY_A );
	$sites[] = array( 'site' => $site, 'options' => $options, 'postmeta' => $meta );
	if ( is_multisite() ) { restore_current_blog(); }
}
$network = is_multisite() ? $wpdb->get_results( $wpdb->prepare( "SELECT meta_key, LEFT(meta_value, 200) AS value FROM {$wpdb->sitemeta} WHERE meta_key LIKE %s OR meta_value LIKE %s ORDER BY meta_key", $like, $like ), ARRAY_A ) : array();
echo wp_json_encode( array( 'sites' => $sites, 'network' => $network ) );"#,
    );
    serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the SQL check printed no JSON ({e}): {out}"))
}

/// No row mentions the plugin, apart from core's bookkeeping (printed).
fn assert_nothing_left(after: &Value) {
    println!("after deleting: {after}");
    let name = |row: &Value| -> String {
        row["option_name"]
            .as_str()
            .or(row["meta_key"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let mut left = Vec::new();
    let mut sort = |place: String, row: &Value| {
        if CORE_BOOKKEEPING.contains(&name(row).as_str()) {
            println!(
                "{place}: not the plugin's row {}: {}",
                name(row),
                row["value"]
            );
        } else {
            left.push(format!("{place}: {row}"));
        }
    };
    for site in after["sites"].as_array().unwrap() {
        for table in ["options", "postmeta"] {
            for row in site[table].as_array().unwrap() {
                sort(format!("site {} {table}", site["site"]), row);
            }
        }
    }
    for row in after["network"].as_array().unwrap() {
        sort("sitemeta".to_owned(), row);
    }
    assert!(
        left.is_empty(),
        "rows left that mention the plugin:\n{}",
        left.join("\n")
    );
}
