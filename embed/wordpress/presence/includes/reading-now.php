<?php
/**
 * What is read now, beyond the page's own post: badges of other posts, the "Reading now"
 * column of the Posts list, the "Reading now" dashboard widget, and the titles the
 * popular lists need.
 *
 * WordPress never asks presence-server anything here. The pages carry elements that the
 * browser fills: presence.js keeps every badge live over the page's one websocket
 * (`watch`), and the plugin's list script (assets/presence-lists.js) asks presence-server
 * for /api/top and /api/stats and this site's REST route presence/v1/posts for titles and
 * links. A server that is down or hangs costs WordPress nothing.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Most ids one presence/v1/posts request looks up (presence-server's largest /api/top). */
define( 'PRESENCE_TOP_MAX', 100 );

/**
 * The URL WordPress itself would reach presence-server at (the "Server URL for WordPress"
 * setting, else the Server URL). The plugin no longer sends requests from WordPress; kept
 * for add-ons that do.
 *
 * @return string Without a trailing slash; '' when neither is set.
 */
function presence_internal_url() {
	$url = untrailingslashit( (string) get_option( 'presence_internal_url', '' ) );
	return '' !== $url ? $url : presence_server_url();
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
 * Registers GET presence/v1/posts?ids=1,2,3: the titles and links of those ids that are
 * published posts of the listed types, in the order asked. Public (it tells what the site
 * shows anyway); the popular lists use it for the ids /api/top returns, and skip the rest
 * (drafts, pages, deleted posts, other sites on the same presence-server).
 */
function presence_register_rest() {
	register_rest_route(
		'presence/v1',
		'/posts',
		array(
			'methods'             => 'GET',
			'callback'            => 'presence_rest_posts',
			'permission_callback' => '__return_true',
			'args'                => array(
				'ids' => array(
					'type'     => 'string',
					'required' => true,
				),
			),
		)
	);
}
add_action( 'rest_api_init', 'presence_register_rest' );

/**
 * The presence/v1/posts answer: array( 'posts' => list of { id, title, link } ). For
 * visitors (the lists ask without cookies) it may be cached for 5 minutes: the lists ask
 * with the ids sorted, so the same ids are the same URL for everyone, and a page cache or
 * CDN that honours Cache-Control spares WordPress the request.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response
 */
function presence_rest_posts( $request ) {
	$ids = array_slice( array_values( array_unique( array_filter( array_map( 'absint', explode( ',', (string) $request['ids'] ) ) ) ) ), 0, PRESENCE_TOP_MAX );
	$out = array();
	if ( $ids ) {
		$posts = get_posts(
			array(
				'post__in'         => $ids,
				'orderby'          => 'post__in',
				'post_type'        => presence_list_post_types(),
				'post_status'      => 'publish',
				'posts_per_page'   => count( $ids ),
				'has_password'     => false,
				'no_found_rows'    => true,
				'suppress_filters' => false,
			)
		);
		foreach ( $posts as $post ) {
			$out[] = array(
				'id'    => (int) $post->ID,
				'title' => html_entity_decode( wp_strip_all_tags( get_the_title( $post ) ), ENT_QUOTES, 'UTF-8' ),
				'link'  => get_permalink( $post ),
			);
		}
	}
	$response = new WP_REST_Response( array( 'posts' => $out ) );
	if ( ! is_user_logged_in() ) {
		$response->header( 'Cache-Control', 'public, max-age=300' );
	}
	return $response;
}

/**
 * A live badge of a post's readers, filled by presence.js over the page's websocket.
 *
 * @param int   $post_id The post.
 * @param array $texts   template / one / zero, with {n} or {total}; defaults
 *                       "{total} reading", none (the template), "" (hidden); and class.
 *                       {total}, not {n}: on the page of the post itself presence.js
 *                       fills the badge like the page's own count, {n} being the others.
 * @return string
 */
function presence_badge_html( $post_id, $texts = array() ) {
	$texts = array_merge(
		array(
			'template' => presence_popular_texts()['template'],
			'one'      => '',
			'zero'     => '',
			'class'    => 'presence-badge',
		),
		$texts
	);
	$html  = '<span class="' . esc_attr( $texts['class'] ) . '" data-presence-viewers data-post-id="' . esc_attr( presence_post_key( $post_id ) ) . '"';
	foreach ( array( 'template', 'one', 'zero' ) as $name ) {
		if ( '' !== $texts[ $name ] ) {
			$html .= ' data-presence-' . $name . '="' . esc_attr( $texts[ $name ] ) . '"';
		}
	}
	if ( presence_popular_texts()['template'] === $texts['template'] ) {
		$html .= presence_plural_attrs( 'reading' );
	}
	return $html . ' aria-live="polite">&nbsp;</span>';
}

/**
 * Template tag for archive pages and loops: a live badge of a post's readers now, e.g.
 * `<?php presence_badge(); ?>` beside each title. Asks for presence.js on the page.
 *
 * @param int   $post_id The post; default the current post of the loop.
 * @param array $texts   template / one / zero / class (see presence_badge_html()).
 */
function presence_badge( $post_id = 0, $texts = array() ) {
	$post_id = $post_id ? (int) $post_id : (int) get_the_ID();
	if ( $post_id > 0 && presence_load_script() ) {
		echo presence_badge_html( $post_id, $texts ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
	}
}

/**
 * Adds the "Reading now" column to the Posts list.
 *
 * @param string[] $columns   Column id => title.
 * @param string   $post_type The listed post type.
 * @return string[]
 */
function presence_posts_columns( $columns, $post_type = 'post' ) {
	if ( '' === presence_server_url() || ! current_user_can( 'edit_posts' )
		|| ! in_array( $post_type, presence_list_post_types(), true ) ) {
		return $columns;
	}
	$columns['presence_reading'] = __( 'Reading now', 'presence' );
	return $columns;
}
add_filter( 'manage_posts_columns', 'presence_posts_columns', 10, 2 );

/**
 * Renders a "Reading now" cell: a badge that presence.js fills (the first 50 posts of the
 * screen, presence-server's security.max_watch_posts).
 *
 * @param string $column  Column id.
 * @param int    $post_id The row's post.
 */
function presence_posts_column( $column, $post_id ) {
	if ( 'presence_reading' !== $column || ! current_user_can( 'edit_posts' ) || ! presence_load_script() ) {
		return;
	}
	echo presence_badge_html( // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
		$post_id,
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
		wp_add_dashboard_widget( 'presence_dashboard', __( 'Reading now', 'presence' ), 'presence_dashboard_widget' );
	}
}
add_action( 'wp_dashboard_setup', 'presence_dashboard_setup' );

/**
 * Renders the dashboard widget: readers on the whole presence-server now, the posts they
 * read, and the five posts of this site read most, all filled and kept live by the
 * browser.
 */
function presence_dashboard_widget() {
	if ( ! current_user_can( 'edit_posts' ) ) {
		return;
	}
	if ( ! presence_load_lists() ) {
		echo '<p class="presence-error">' . esc_html__( 'No presence-server URL is set (Settings → Presence).', 'presence' ) . '</p>';
		if ( current_user_can( 'manage_options' ) ) {
			echo '<p><a href="' . esc_url( admin_url( 'options-general.php?page=presence' ) ) . '">' . esc_html__( 'Settings', 'presence' ) . '</a></p>';
		}
		return;
	}
	echo '<p class="presence-stats">'
		. esc_html__( 'Readers now:', 'presence' ) . ' <strong data-presence-stats-viewers aria-live="polite">&ndash;</strong>'
		. ' &middot; '
		. esc_html__( 'Posts read now:', 'presence' ) . ' <strong data-presence-stats-posts aria-live="polite">&ndash;</strong></p>';
	echo presence_wrapper( 'popular-now', false, '', presence_popular_attrs( 5, true ), '' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped inside.
	echo '<p class="description">' . esc_html__( 'Live. The figures are of the whole presence-server (every site it serves, drafts and pages included); the list shows the published posts of this site.', 'presence' ) . '</p>';
}
