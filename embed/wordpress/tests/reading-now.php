<?php
/**
 * Runs the plugin's server-side "reading now" code (includes/reading-now.php) against a
 * real presence-server, without WordPress: the WordPress functions the plugin calls are
 * small stand-ins below (options and transients in memory, wp_remote_get over PHP's own
 * HTTP stream wrapper), and the site has the posts of $posts.
 *
 *     php embed/wordpress/tests/reading-now.php http://127.0.0.1:3000 [http://127.0.0.1:CLOSED]
 *
 * Prints sections, each "=== name" then the HTML the plugin rendered, plus "requests: N"
 * (requests the section sent to presence-server). tests/tests/e2e/wordpress.rs makes the
 * readers, runs this and checks the output. Not part of the plugin.
 *
 * @package Presence
 */

// phpcs:disable -- a test harness, not WordPress code.

define( 'ABSPATH', __DIR__ . '/' );
define( 'HOUR_IN_SECONDS', 3600 );

if ( $argc < 2 ) {
	fwrite( STDERR, "usage: php reading-now.php SERVER_URL [UNREACHABLE_URL]\n" );
	exit( 2 );
}
$server      = $argv[1];
$unreachable = isset( $argv[2] ) ? $argv[2] : '';

// The site: published posts 101–105 and 107, a draft 104, a page 106.
$posts = array(
	101 => array( 'First post', 'publish', 'post' ),
	102 => array( 'Second <post> & "quotes"', 'publish', 'post' ),
	103 => array( 'Third post', 'publish', 'post' ),
	104 => array( 'A draft', 'draft', 'post' ),
	105 => array( 'Nobody reads this', 'publish', 'post' ),
	106 => array( 'About us', 'publish', 'page' ),
	107 => array( 'Seventh post', 'publish', 'post' ),
);
$options    = array();
$transients = array();
$hooks      = array();
$requests   = 0;
$can        = true;

// --- WordPress stand-ins -------------------------------------------------------------

class WP_Error {
	private $code;
	private $message;
	public function __construct( $code = '', $message = '' ) {
		$this->code    = $code;
		$this->message = $message;
	}
	public function get_error_code() {
		return $this->code;
	}
	public function get_error_message() {
		return $this->message;
	}
}
class WP_Widget {
	public $id_base;
	public function __construct( $id_base, $name, $options = array() ) {
		$this->id_base = $id_base;
	}
	public function get_field_id( $name ) {
		return 'widget-' . $this->id_base . '-' . $name;
	}
	public function get_field_name( $name ) {
		return 'widget-' . $this->id_base . '[' . $name . ']';
	}
}
class WP_Post {
	public $ID;
	public function __construct( $id ) {
		$this->ID = $id;
	}
}
function is_wp_error( $thing ) {
	return $thing instanceof WP_Error;
}
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {
	$GLOBALS['hooks'][ $hook ][] = $callback;
}
function add_action( $hook, $callback, $priority = 10, $args = 1 ) {
	add_filter( $hook, $callback, $priority, $args );
}
function apply_filters( $hook, $value, ...$args ) {
	foreach ( isset( $GLOBALS['hooks'][ $hook ] ) ? $GLOBALS['hooks'][ $hook ] : array() as $callback ) {
		$value = $callback( $value, ...$args );
	}
	return $value;
}
function do_action( $hook, ...$args ) {
	foreach ( isset( $GLOBALS['hooks'][ $hook ] ) ? $GLOBALS['hooks'][ $hook ] : array() as $callback ) {
		$callback( ...$args );
	}
}
function add_shortcode( $tag, $callback ) {
	$GLOBALS['shortcodes'][ $tag ] = $callback;
}
function shortcode_atts( $defaults, $atts, $tag = '' ) {
	$atts = (array) $atts;
	$out  = array();
	foreach ( $defaults as $name => $default ) {
		$out[ $name ] = array_key_exists( $name, $atts ) ? $atts[ $name ] : $default;
	}
	return $out;
}
function register_widget( $class ) {
	$GLOBALS['widgets'][] = $class;
}
function get_option( $name, $default = false ) {
	return array_key_exists( $name, $GLOBALS['options'] ) ? $GLOBALS['options'][ $name ] : $default;
}
function get_transient( $key ) {
	return isset( $GLOBALS['transients'][ $key ] ) ? $GLOBALS['transients'][ $key ] : false;
}
function set_transient( $key, $value, $expiration ) {
	$GLOBALS['transients'][ $key ] = $value;
	return true;
}
function delete_transient( $key ) {
	unset( $GLOBALS['transients'][ $key ] );
}
/** Like WordPress's: array( 'response' => array( 'code' => … ), 'body' => … ) or a WP_Error. */
function wp_remote_get( $url, $args = array() ) {
	++$GLOBALS['requests'];
	$context = stream_context_create(
		array(
			'http' => array(
				'method'        => 'GET',
				'timeout'       => isset( $args['timeout'] ) ? $args['timeout'] : 5,
				'ignore_errors' => true, // Return the body of 4xx/5xx answers too.
			),
		)
	);
	$body = @file_get_contents( $url, false, $context );
	if ( false === $body || empty( $http_response_header ) ) {
		$error = error_get_last();
		return new WP_Error( 'http_request_failed', $error ? $error['message'] : 'request failed' );
	}
	preg_match( '#^HTTP/\S+ (\d+)#', $http_response_header[0], $status );
	return array(
		'response' => array( 'code' => (int) $status[1] ),
		'body'     => $body,
	);
}
function wp_remote_retrieve_response_code( $response ) {
	return $response['response']['code'];
}
function wp_remote_retrieve_body( $response ) {
	return $response['body'];
}
function wp_enqueue_script( $handle, $src, $deps = array(), $ver = false, $in_footer = false ) {
	$GLOBALS['enqueued'][ $handle ] = $src;
}
function wp_add_dashboard_widget( $id, $title, $callback ) {
	$GLOBALS['dashboard_widgets'][ $id ] = array( $title, $callback );
}
function get_post_status( $id ) {
	return isset( $GLOBALS['posts'][ $id ] ) ? $GLOBALS['posts'][ $id ][1] : false;
}
function get_post_type( $id ) {
	return isset( $GLOBALS['posts'][ $id ] ) ? $GLOBALS['posts'][ $id ][2] : false;
}
function get_the_title( $id ) {
	return isset( $GLOBALS['posts'][ $id ] ) ? $GLOBALS['posts'][ $id ][0] : '';
}
function get_permalink( $id ) {
	return 'https://blog.example.com/?p=' . (int) $id;
}
function get_the_ID() {
	return 0;
}
function current_user_can( $capability ) {
	return $GLOBALS['can'];
}
function is_admin() {
	return true;
}
function admin_url( $path = '' ) {
	return 'https://blog.example.com/wp-admin/' . $path;
}
function plugin_basename( $file ) {
	return 'presence/' . basename( $file );
}
function untrailingslashit( $value ) {
	return rtrim( $value, '/\\' );
}
function esc_html( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_attr( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_url( $url ) {
	return preg_match( '#^https?://#', $url ) ? htmlspecialchars( $url, ENT_QUOTES, 'UTF-8' ) : '';
}
function esc_url_raw( $url ) {
	return preg_match( '#^https?://#', $url ) ? $url : '';
}
function __( $text, $domain = 'default' ) {
	return $text;
}
function esc_html__( $text, $domain = 'default' ) {
	return esc_html( $text );
}
function esc_html_e( $text, $domain = 'default' ) {
	echo esc_html( $text );
}
function _n( $single, $plural, $number, $domain = 'default' ) {
	return 1 === (int) $number ? $single : $plural;
}
function number_format_i18n( $number ) {
	return number_format( $number );
}
function sanitize_text_field( $text ) {
	return trim( strip_tags( (string) $text ) );
}
function absint( $value ) {
	return abs( (int) $value );
}
function checked( $checked ) {
	echo $checked ? ' checked' : '';
}

// --- the plugin ---------------------------------------------------------------------

require dirname( __DIR__ ) . '/presence/presence.php';

/** Runs $render with output captured and prints it as section $name. */
function section( $name, $render ) {
	$GLOBALS['requests'] = 0;
	ob_start();
	$render();
	$html = ob_get_clean();
	echo "=== $name\n$html\nrequests: {$GLOBALS['requests']}\n";
}

/** The Posts list: the column header and one cell per post of the screen. */
function posts_list( $ids ) {
	$GLOBALS['presence_column_counts'] = null; // A new request.
	$GLOBALS['wp_query']               = (object) array( 'posts' => array_map( fn( $id ) => new WP_Post( $id ), $ids ) );
	$columns = apply_filters( 'manage_posts_columns', array( 'title' => 'Title' ), 'post' );
	echo 'columns: ' . implode( ',', array_keys( $columns ) ) . "\n";
	foreach ( $ids as $id ) {
		echo "<tr id=\"post-$id\"><td>";
		foreach ( array_keys( $columns ) as $column ) {
			do_action( 'manage_posts_custom_column', $column, $id );
		}
		echo "</td></tr>\n";
	}
}

function dashboard() {
	$GLOBALS['dashboard_widgets'] = array();
	do_action( 'wp_dashboard_setup' );
	foreach ( $GLOBALS['dashboard_widgets'] as $id => $widget ) {
		echo "<div id=\"$id\"><h2>" . esc_html( $widget[0] ) . '</h2>';
		call_user_func( $widget[1] );
		echo '</div>';
	}
}

// Not configured: nothing is fetched, the dashboard says so.
section( 'dashboard-unconfigured', 'dashboard' );
section( 'popular-unconfigured', fn() => print( $GLOBALS['shortcodes']['presence_popular']( array( 'limit' => '3' ) ) ) );

// The public URL only; WordPress uses it for its own requests too.
$options['presence_server_url'] = $server . '/';
section( 'dashboard', 'dashboard' );
section( 'dashboard-cached', 'dashboard' );
section( 'column', fn() => posts_list( array( 101, 102, 103, 105, 107 ) ) );

// A batch limit of 2: the five posts of the screen take three requests.
$transients = array();
add_filter( 'presence_batch_ids', fn() => 2 );
section( 'column-batched', fn() => posts_list( array( 101, 102, 103, 105, 107 ) ) );

$enqueued = array();
section( 'popular', fn() => print( $GLOBALS['shortcodes']['presence_popular']( array( 'limit' => '3' ) ) ) );
echo 'enqueued: ' . json_encode( $enqueued ) . "\n";
section(
	'popular-widget',
	function () {
		$widget = new Presence_Popular_Widget();
		$widget->widget(
			array(
				'before_widget' => '<section class="widget">',
				'after_widget'  => '</section>',
				'before_title'  => '<h2>',
				'after_title'   => '</h2>',
			),
			array(
				'title' => 'Popular <now>',
				'limit' => 10,
			)
		);
	}
);

// Users who may not edit posts get neither the column nor the dashboard widget.
$can = false;
section( 'column-no-capability', fn() => posts_list( array( 101 ) ) );
section( 'dashboard-no-capability', 'dashboard' );
$can = true;

// An internal URL that does not answer: the admin says so, visitors see nothing.
if ( '' !== $unreachable ) {
	$options['presence_internal_url'] = $unreachable;
	section( 'dashboard-unreachable', 'dashboard' );
	section( 'dashboard-unreachable-cached', 'dashboard' );
	section( 'column-unreachable', fn() => posts_list( array( 101 ) ) );
	section( 'popular-unreachable', fn() => print( $GLOBALS['shortcodes']['presence_popular']( array() ) ) );
}
