<?php
/**
 * Counts fetched by WordPress itself (server-side) from presence-server's HTTP API, and
 * what shows them: the "Reading now" column of the Posts list, the "Reading now"
 * dashboard widget, and the popular posts list ([presence_popular], the "Presence: popular
 * right now" widget).
 *
 * Every request goes to presence_internal_url() with a short timeout, and its answer (or
 * its failure) is kept in a transient for PRESENCE_CACHE_SECONDS, so a busy admin or a
 * popular sidebar costs presence-server one request per list every few seconds. The
 * badges carry data-presence-viewers and data-post-id, so presence.js, where loaded,
 * keeps their counts live over one websocket (see embed/README.md).
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** How long an answer of presence-server is kept, in seconds. */
define( 'PRESENCE_CACHE_SECONDS', 15 );

/** Timeout of a request to presence-server, in seconds: pages wait for it. */
define( 'PRESENCE_HTTP_TIMEOUT', 2 );

/** Most ids in one /api/posts request: presence-server's default server.max_batch_ids. */
define( 'PRESENCE_BATCH_IDS', 100 );

/** Most posts /api/top returns. */
define( 'PRESENCE_TOP_MAX', 100 );

/**
 * The URL WordPress uses to reach presence-server itself (e.g. http://127.0.0.1:3000 on
 * the same host): the "Server URL for WordPress" setting, else the public server URL.
 *
 * @return string Without a trailing slash; '' when neither is set.
 */
function presence_internal_url() {
	$url = untrailingslashit( (string) get_option( 'presence_internal_url', '' ) );
	return '' !== $url ? $url : presence_server_url();
}

/**
 * GETs a path of presence-server's API as decoded JSON, through the transient cache.
 *
 * @param string $path E.g. '/api/stats'.
 * @return array|WP_Error The decoded object, or why there is none.
 */
function presence_api_get( $path ) {
	$base = presence_internal_url();
	if ( '' === $base ) {
		return new WP_Error( 'presence_not_configured', __( 'No presence-server URL is set (Settings → Presence).', 'presence' ) );
	}
	$key    = 'presence_api_' . md5( $base . $path );
	$cached = get_transient( $key );
	if ( is_array( $cached ) && isset( $cached['ok'] ) ) {
		return $cached['ok'] ? $cached['data'] : new WP_Error( 'presence_unreachable', $cached['data'] );
	}
	$response = wp_remote_get(
		$base . $path,
		array(
			'timeout' => PRESENCE_HTTP_TIMEOUT,
			'headers' => array( 'Accept' => 'application/json' ),
		)
	);
	$data = null;
	if ( is_wp_error( $response ) ) {
		/* translators: %s: why the request failed */
		$error = sprintf( __( 'no answer (%s)', 'presence' ), $response->get_error_message() );
	} else {
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		/* translators: %d: HTTP status */
		$error = 200 === $status && is_array( $data ) ? '' : sprintf( __( 'HTTP %d', 'presence' ), $status );
	}
	// A failure is kept too: a server that is down must not slow every page by the timeout.
	set_transient( $key, array( 'ok' => '' === $error, 'data' => '' === $error ? $data : $error ), PRESENCE_CACHE_SECONDS );
	return '' === $error ? $data : new WP_Error( 'presence_unreachable', $error );
}

/**
 * Readers now of each post, in as few /api/posts requests as the batch limit allows.
 *
 * @param int[] $ids Post IDs.
 * @return array|WP_Error Post ID => readers now.
 */
function presence_fetch_viewers( $ids ) {
	$ids = array_values( array_unique( array_filter( array_map( 'absint', (array) $ids ) ) ) );
	/**
	 * Filters the most ids sent in one /api/posts request: presence-server's
	 * server.max_batch_ids (default 100).
	 *
	 * @param int $max Ids per request.
	 */
	$per    = max( 1, (int) apply_filters( 'presence_batch_ids', PRESENCE_BATCH_IDS ) );
	$counts = array();
	foreach ( array_chunk( $ids, $per ) as $chunk ) {
		$data = presence_api_get( '/api/posts?ids=' . implode( ',', $chunk ) );
		if ( is_wp_error( $data ) ) {
			return $data;
		}
		foreach ( isset( $data['posts'] ) ? (array) $data['posts'] : array() as $row ) {
			if ( isset( $row['post_id'], $row['viewers'] ) ) {
				$counts[ (int) $row['post_id'] ] = (int) $row['viewers'];
			}
		}
	}
	return $counts;
}

/**
 * The post types whose posts the column and the popular lists show.
 *
 * @return string[]
 */
function presence_list_post_types() {
	/**
	 * Filters the post types of the "Reading now" column and the popular lists. Default:
	 * array( 'post' ), where presence.js counts readers (see the presence_enabled filter).
	 *
	 * @param string[] $types Post types.
	 */
	return (array) apply_filters( 'presence_list_post_types', array( 'post' ) );
}

/**
 * The most-read published posts of this site right now, most readers first.
 *
 * presence-server counts any post id a page sends, so /api/top may list ids that are not
 * published posts here (drafts, deleted posts, other sites on the same server): those are
 * skipped, and more than $limit are asked for to make up for them.
 *
 * @param int $limit Posts wanted.
 * @return array|WP_Error List of array( 'id' => int, 'viewers' => int ).
 */
function presence_popular_posts( $limit ) {
	$limit = max( 1, min( (int) $limit, PRESENCE_TOP_MAX ) );
	$data  = presence_api_get( '/api/top?limit=' . min( PRESENCE_TOP_MAX, 2 * $limit + 10 ) );
	if ( is_wp_error( $data ) ) {
		return $data;
	}
	$posts = array();
	foreach ( isset( $data['posts'] ) ? (array) $data['posts'] : array() as $row ) {
		$id = isset( $row['post_id'] ) && ctype_digit( (string) $row['post_id'] ) ? (int) $row['post_id'] : 0;
		if ( $id > 0 && isset( $row['viewers'] ) && 'publish' === get_post_status( $id )
			&& in_array( get_post_type( $id ), presence_list_post_types(), true ) ) {
			$posts[] = array(
				'id'      => $id,
				'viewers' => (int) $row['viewers'],
			);
			if ( count( $posts ) >= $limit ) {
				break;
			}
		}
	}
	return $posts;
}

/**
 * A live badge of a post's readers: presence.js watches its data-post-id and keeps the
 * text current. With a count, the text is filled here too, so it is right without
 * JavaScript; without one (null) it stays empty until presence.js fills it.
 *
 * @param int      $post_id The post.
 * @param int|null $viewers Readers now, or null.
 * @param array    $texts   template / one / zero, with {n} or {total}; defaults
 *                          "{total} reading", none (the template), "" (hidden); and class.
 *                          {total}, not {n}: on the page of the post itself presence.js
 *                          fills the badge like the page's own count, {n} being the others.
 * @return string
 */
function presence_badge_html( $post_id, $viewers = null, $texts = array() ) {
	$texts = array_merge(
		array(
			/* translators: {total} is replaced by the number of readers now (one or more), live. */
			'template' => __( '{total} reading', 'presence' ),
			'one'      => '',
			'zero'     => '',
			'class'    => 'presence-badge',
		),
		$texts
	);
	$html = '<span class="' . esc_attr( $texts['class'] ) . '" data-presence-viewers data-post-id="' . esc_attr( (string) (int) $post_id ) . '"';
	foreach ( array( 'template', 'one', 'zero' ) as $name ) {
		if ( '' !== $texts[ $name ] ) {
			$html .= ' data-presence-' . $name . '="' . esc_attr( $texts[ $name ] ) . '"';
		}
	}
	$text = '';
	if ( null !== $viewers ) {
		$viewers = max( 0, (int) $viewers );
		$html   .= ' data-presence-count="' . esc_attr( (string) $viewers ) . '"';
		$text    = 0 === $viewers ? $texts['zero'] : ( 1 === $viewers && '' !== $texts['one'] ? $texts['one'] : $texts['template'] );
		$text    = str_replace( array( '{n}', '{total}' ), number_format_i18n( $viewers ), $text );
	}
	return $html . ' aria-live="polite">' . ( '' !== $text ? esc_html( $text ) : '&nbsp;' ) . '</span>';
}

/**
 * Template tag for archive pages and loops: a live badge of a post's readers now, e.g.
 * `<?php presence_badge(); ?>` beside each title. Loads presence.js on the page; the
 * count arrives over its websocket, nothing is fetched while the page is built.
 *
 * @param int   $post_id The post; default the current post of the loop.
 * @param array $texts   template / one / zero / class (see presence_badge_html()).
 */
function presence_badge( $post_id = 0, $texts = array() ) {
	$post_id = $post_id ? (int) $post_id : (int) get_the_ID();
	if ( $post_id > 0 && presence_load_script() ) {
		echo presence_badge_html( $post_id, null, $texts ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
	}
}

/**
 * The popular posts list: titles linked to the posts, each with a live badge.
 *
 * @param int  $limit    Posts shown.
 * @param bool $admin    True: say why when the list cannot be had (admin screens);
 *                       false: show nothing then (visitors).
 * @return string
 */
function presence_popular_html( $limit, $admin = false ) {
	$posts = presence_popular_posts( $limit );
	if ( is_wp_error( $posts ) ) {
		return $admin ? '<p class="presence-error">' . esc_html( presence_error_text( $posts ) ) . '</p>' : '';
	}
	if ( ! $posts ) {
		return '<p class="presence-popular-empty">' . esc_html__( 'Nobody is reading right now.', 'presence' ) . '</p>';
	}
	$html = '<ol class="presence-popular">';
	foreach ( $posts as $post ) {
		$html .= '<li><a href="' . esc_url( get_permalink( $post['id'] ) ) . '">' . esc_html( get_the_title( $post['id'] ) ) . '</a> '
			. presence_badge_html( $post['id'], $post['viewers'] ) . '</li>';
	}
	return $html . '</ol>';
}

/**
 * Words for an error of presence_api_get().
 *
 * @param WP_Error $error The error.
 * @return string
 */
function presence_error_text( $error ) {
	if ( 'presence_not_configured' === $error->get_error_code() ) {
		return $error->get_error_message();
	}
	return sprintf(
		/* translators: 1: presence-server URL, 2: the error */
		__( 'Could not get the counts from presence-server at %1$s: %2$s', 'presence' ),
		presence_internal_url(),
		$error->get_error_message()
	);
}

/**
 * [presence_popular limit="5"]: the most-read posts now, with live counts.
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_popular_shortcode( $atts ) {
	$atts = shortcode_atts( array( 'limit' => 5 ), $atts, 'presence_popular' );
	$html = presence_popular_html( (int) $atts['limit'] );
	if ( '' !== $html ) {
		presence_load_script();
	}
	return $html;
}
add_shortcode( 'presence_popular', 'presence_popular_shortcode' );

/**
 * Adds the "Reading now" column to the Posts list.
 *
 * @param string[] $columns   Column id => title.
 * @param string   $post_type The listed post type.
 * @return string[]
 */
function presence_posts_columns( $columns, $post_type = 'post' ) {
	if ( '' === presence_internal_url() || ! current_user_can( 'edit_posts' )
		|| ! in_array( $post_type, presence_list_post_types(), true ) ) {
		return $columns;
	}
	$columns['presence_viewers'] = __( 'Reading now', 'presence' );
	return $columns;
}
add_filter( 'manage_posts_columns', 'presence_posts_columns', 10, 2 );

/**
 * Renders a "Reading now" cell. The first cell fetches the counts of every post on the
 * screen (the main query's posts) at once; a post not among them is fetched alone.
 *
 * @param string $column  Column id.
 * @param int    $post_id The row's post.
 */
function presence_posts_column( $column, $post_id ) {
	global $presence_column_counts;
	if ( 'presence_viewers' !== $column ) {
		return;
	}
	if ( ! current_user_can( 'edit_posts' ) ) {
		return;
	}
	$counts = &$presence_column_counts; // This request's counts (or WP_Error): one fetch per screen.
	if ( null === $counts || ( is_array( $counts ) && ! isset( $counts[ (int) $post_id ] ) ) ) {
		$ids = array( (int) $post_id );
		if ( null === $counts && isset( $GLOBALS['wp_query']->posts ) ) {
			foreach ( (array) $GLOBALS['wp_query']->posts as $post ) {
				$ids[] = is_object( $post ) ? (int) $post->ID : (int) $post;
			}
		}
		$fetched = presence_fetch_viewers( $ids );
		$counts  = is_wp_error( $fetched ) ? $fetched : ( is_array( $counts ) ? $counts : array() ) + $fetched;
	}
	if ( is_wp_error( $counts ) ) {
		echo '<span title="' . esc_attr( presence_error_text( $counts ) ) . '">&mdash;</span>';
		return;
	}
	$viewers = isset( $counts[ (int) $post_id ] ) ? $counts[ (int) $post_id ] : 0;
	echo presence_badge_html( // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
		$post_id,
		$viewers,
		array(
			'template' => '{n}',
			'one'      => '',
			'zero'     => '0',
			'class'    => 'presence-column',
		)
	);
}
add_action( 'manage_posts_custom_column', 'presence_posts_column', 10, 2 );

/**
 * Adds the "Reading now" dashboard widget.
 */
function presence_dashboard_setup() {
	if ( current_user_can( 'edit_posts' ) ) {
		wp_add_dashboard_widget( 'presence_reading_now', __( 'Reading now', 'presence' ), 'presence_dashboard_widget' );
	}
}
add_action( 'wp_dashboard_setup', 'presence_dashboard_setup' );

/**
 * Renders the dashboard widget: readers on the whole site now and the most-read posts.
 */
function presence_dashboard_widget() {
	if ( ! current_user_can( 'edit_posts' ) ) {
		return;
	}
	$stats = presence_api_get( '/api/stats' );
	if ( is_wp_error( $stats ) ) {
		echo '<p class="presence-error">' . esc_html( presence_error_text( $stats ) ) . '</p>';
		if ( 'presence_not_configured' === $stats->get_error_code() && current_user_can( 'manage_options' ) ) {
			echo '<p><a href="' . esc_url( admin_url( 'options-general.php?page=presence' ) ) . '">' . esc_html__( 'Settings', 'presence' ) . '</a></p>';
		}
		return;
	}
	$viewers = isset( $stats['viewers'] ) ? (int) $stats['viewers'] : 0;
	$posts   = isset( $stats['posts'] ) ? (int) $stats['posts'] : 0;
	echo '<p class="presence-stats" data-viewers="' . esc_attr( (string) $viewers ) . '" data-posts="' . esc_attr( (string) $posts ) . '">' . esc_html(
		sprintf(
			/* translators: 1: readers on the site now, 2: posts they read */
			_n( '%1$s person reading %2$s now.', '%1$s people reading %2$s now.', $viewers, 'presence' ),
			number_format_i18n( $viewers ),
			/* translators: %s: number of posts */
			sprintf( _n( '%s post', '%s posts', $posts, 'presence' ), number_format_i18n( $posts ) )
		)
	) . '</p>';
	echo presence_popular_html( 5, true ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
	echo '<p class="description">' . esc_html__( 'Counts of the whole presence-server, as of loading this page; the counts beside the posts are live.', 'presence' ) . '</p>';
}

/**
 * Loads presence.js on the admin screens that show live badges (the Posts list and the
 * dashboard), where it only watches: the editor is not counted as a reader of anything.
 *
 * @param string $hook_suffix The admin screen.
 */
function presence_admin_enqueue( $hook_suffix ) {
	/**
	 * Filters whether the admin's "Reading now" counts go live (presence.js on the Posts
	 * list and the dashboard). False: they are as of loading the page.
	 *
	 * @param bool $live Default true.
	 */
	if ( in_array( $hook_suffix, array( 'edit.php', 'index.php' ), true ) && current_user_can( 'edit_posts' )
		&& apply_filters( 'presence_admin_live', true ) ) {
		presence_load_script();
	}
}
add_action( 'admin_enqueue_scripts', 'presence_admin_enqueue' );

/**
 * "Presence: popular right now": the most-read posts now, with live counts.
 */
class Presence_Popular_Widget extends WP_Widget {

	/**
	 * Sets up the widget.
	 */
	public function __construct() {
		parent::__construct(
			'presence_popular_widget',
			__( 'Presence: popular right now', 'presence' ),
			array(
				'description'                 => __( 'The posts most read right now, with live counts.', 'presence' ),
				'customize_selective_refresh' => true,
			)
		);
	}

	/**
	 * Outputs the widget; nothing when the list cannot be had.
	 *
	 * @param array $args     Sidebar arguments.
	 * @param array $instance Saved settings.
	 */
	public function widget( $args, $instance ) {
		$limit = isset( $instance['limit'] ) ? (int) $instance['limit'] : 5;
		$html  = presence_popular_html( $limit );
		if ( '' === $html ) {
			return;
		}
		presence_load_script();
		$title = apply_filters( 'widget_title', isset( $instance['title'] ) ? $instance['title'] : '', $instance, $this->id_base );
		echo $args['before_widget']; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- theme markup.
		if ( '' !== $title ) {
			echo $args['before_title'] . esc_html( $title ) . $args['after_title']; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- theme markup.
		}
		echo $html; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
		echo $args['after_widget']; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- theme markup.
	}

	/**
	 * Outputs the settings form.
	 *
	 * @param array $instance Saved settings.
	 * @return string
	 */
	public function form( $instance ) {
		$title = isset( $instance['title'] ) ? $instance['title'] : __( 'Popular right now', 'presence' );
		$limit = isset( $instance['limit'] ) ? (int) $instance['limit'] : 5;
		?>
		<p>
			<label for="<?php echo esc_attr( $this->get_field_id( 'title' ) ); ?>"><?php esc_html_e( 'Title:', 'presence' ); ?></label>
			<input class="widefat" type="text" id="<?php echo esc_attr( $this->get_field_id( 'title' ) ); ?>" name="<?php echo esc_attr( $this->get_field_name( 'title' ) ); ?>" value="<?php echo esc_attr( $title ); ?>">
		</p>
		<p>
			<label for="<?php echo esc_attr( $this->get_field_id( 'limit' ) ); ?>"><?php esc_html_e( 'Number of posts:', 'presence' ); ?></label>
			<input class="tiny-text" type="number" min="1" max="20" step="1" id="<?php echo esc_attr( $this->get_field_id( 'limit' ) ); ?>" name="<?php echo esc_attr( $this->get_field_name( 'limit' ) ); ?>" value="<?php echo esc_attr( (string) $limit ); ?>">
		</p>
		<?php
		return '';
	}

	/**
	 * Sanitizes the settings.
	 *
	 * @param array $new_instance New settings.
	 * @param array $old_instance Old settings.
	 * @return array
	 */
	public function update( $new_instance, $old_instance ) {
		return array(
			'title' => sanitize_text_field( isset( $new_instance['title'] ) ? $new_instance['title'] : '' ),
			'limit' => max( 1, min( 20, absint( isset( $new_instance['limit'] ) ? $new_instance['limit'] : 5 ) ) ),
		);
	}
}

/**
 * Registers the popular widget.
 */
function presence_register_popular_widget() {
	register_widget( 'Presence_Popular_Widget' );
}
add_action( 'widgets_init', 'presence_register_popular_widget' );
