<?php
/**
 * The "Readers now" and "Popular now" blocks, their shortcodes, and the automatic
 * placement of "Readers now" on single posts.
 *
 * Both blocks are dynamic: PHP renders an element that presence.js (the count) or the
 * plugin's list script (the popular list) fills in the browser; nothing is fetched while
 * the page is built. The shortcodes and widgets render the same markup.
 *
 * Placement (Settings → Presence, "Show the count"):
 * - block themes on WordPress 6.4+: Block Hooks put "Readers now" after core/post-title
 *   (or core/post-content) in the templates that can show a single post; it can be moved
 *   or removed in the Site Editor;
 * - other themes, and block templates that do not render it (before 6.4, templates edited
 *   in the Site Editor on 6.4): the_content, at the start or the end.
 * Whatever the route, the count of the page's post is shown once per page, and one the
 * author placed in the post's content wins.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Registers both blocks: from block.json where WordPress can (5.5+), else with the same
 * attributes as arguments (5.0–5.4). The editor script has no build step.
 */
function presence_register_blocks() {
	if ( ! function_exists( 'register_block_type' ) ) {
		return;
	}
	$deps = array( 'wp-blocks', 'wp-element', 'wp-components', 'wp-i18n' );
	// wp-block-editor where it exists (5.2+): wp-editor beside the widgets editor (5.8+)
	// makes WordPress warn that it "should not be enqueued together with the new widgets
	// editor". 5.0–5.1 have only wp-editor.
	$editor = wp_script_is( 'wp-block-editor', 'registered' ) ? 'wp-block-editor' : 'wp-editor';
	foreach ( array( $editor, 'wp-server-side-render' ) as $handle ) {
		if ( wp_script_is( $handle, 'registered' ) ) {
			$deps[] = $handle;
		}
	}
	wp_register_script( 'presence-blocks', plugins_url( 'assets/blocks.js', PRESENCE_FILE ), $deps, PRESENCE_VERSION, true );
	wp_register_style( 'presence', plugins_url( 'assets/presence.css', PRESENCE_FILE ), array(), PRESENCE_VERSION );
	// The editor script's __() strings: core sets translations only for block.json's
	// file: scripts, not for a handle. From a language pack (translate.wordpress.org makes
	// presence-<locale>-<md5>.json), else from the plugin's languages/ folder.
	if ( function_exists( 'wp_set_script_translations' ) ) {
		wp_set_script_translations( 'presence-blocks', 'presence', plugin_dir_path( PRESENCE_FILE ) . 'languages' );
	}
	if ( function_exists( 'register_block_type_from_metadata' ) ) {
		// block.json gives the editor the blocks' (translated) title, description, icon and
		// category: blocks.js then passes only what the editor draws.
		wp_add_inline_script( 'presence-blocks', 'window.presenceBlockJson=1;', 'before' );
	}

	$blocks = array(
		'readers-now' => 'presence_render_readers_now',
		'popular-now' => 'presence_render_popular_now',
	);
	foreach ( $blocks as $name => $render ) {
		$dir = dirname( __DIR__ ) . '/blocks/' . $name;
		if ( function_exists( 'register_block_type_from_metadata' ) ) {
			register_block_type_from_metadata( $dir, array( 'render_callback' => $render ) );
			continue;
		}
		$meta = json_decode( (string) file_get_contents( $dir . '/block.json' ), true ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local file.
		register_block_type(
			$meta['name'],
			array(
				'attributes'      => $meta['attributes'],
				'editor_script'   => 'presence-blocks',
				'style'           => 'presence',
				'render_callback' => $render,
			)
		);
	}
}
add_action( 'init', 'presence_register_blocks' );

/**
 * Whether this request renders a block for the editor's preview (ServerSideRender).
 *
 * @return bool
 */
function presence_is_editor_preview() {
	return defined( 'REST_REQUEST' ) && REST_REQUEST && isset( $_GET['context'] ) && 'edit' === $_GET['context']; // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only check.
}

/**
 * Whether the count of this page's post was already rendered (once per page), and marks
 * it rendered when `$mark`.
 *
 * @param bool $mark Mark it rendered.
 * @return bool Whether it had been rendered before this call.
 */
function presence_readers_now_shown( $mark = false ) {
	static $shown = false;
	$was          = $shown;
	if ( $mark ) {
		$shown = true;
	}
	return $was;
}

/**
 * The default texts of "Readers now": {total} is everyone reading, the reader included;
 * {n} the others.
 *
 * @return array several / one / alone.
 */
function presence_readers_now_texts() {
	return array(
		/* translators: {total} is replaced by the number of readers now, the reader included (2 or more). */
		'several' => __( '{total} people reading', 'presence' ),
		'one'     => '',
		'alone'   => __( 'Just you', 'presence' ),
	);
}

/**
 * Renders "Readers now": the block, [presence_viewers], the widget and the automatic
 * placement. Nothing outside the page's post (presence_current_post_id()), nothing for
 * other posts of a query loop, and once per page.
 *
 * @param array         $attributes several / one / alone / showViews / className.
 * @param string        $content    Unused (a dynamic block).
 * @param WP_Block|null $block      The block, when rendered as one.
 * @return string
 */
function presence_render_readers_now( $attributes = array(), $content = '', $block = null ) {
	unset( $content );
	$attributes = is_array( $attributes ) ? $attributes : array();
	$texts      = presence_readers_now_texts();
	foreach ( array( 'several', 'one', 'alone' ) as $name ) {
		if ( isset( $attributes[ $name ] ) && '' !== trim( (string) $attributes[ $name ] ) ) {
			$texts[ $name ] = (string) $attributes[ $name ];
		}
	}
	$views  = ! empty( $attributes['showViews'] );
	$extra  = isset( $attributes['className'] ) ? (string) $attributes['className'] : '';
	$inside = is_object( $block ) && function_exists( 'get_block_wrapper_attributes' );

	if ( presence_is_editor_preview() ) {
		$count = '<span class="presence-viewers" data-presence-count="3">' . esc_html( str_replace( array( '{total}', '{n}' ), array( '3', '2' ), $texts['several'] ) ) . '</span>';
		if ( $views ) {
			$count .= ' <span class="presence-views">' . esc_html( str_replace( array( '{n}', '{total}' ), '120', __( '{n} views', 'presence' ) ) ) . '</span>';
		}
		return presence_wrapper( 'readers-now', $inside, $extra, array(), $count );
	}

	$post_id = presence_current_post_id();
	if ( ! $post_id || ( $inside && isset( $block->context['postId'] ) && (int) $block->context['postId'] !== $post_id ) ) {
		return '';
	}
	// A "Readers now" block or [presence_viewers] the author put in the post's content wins
	// over one the template or a widget renders earlier (under the title).
	if ( ! doing_filter( 'the_content' ) && presence_content_places_count( $post_id ) ) {
		return '';
	}
	if ( presence_readers_now_shown( true ) ) {
		return '';
	}
	presence_load_script();
	$count = '<span class="presence-viewers" data-presence-viewers';
	foreach ( array(
		'template' => 'several',
		'one'      => 'one',
		'zero'     => 'alone',
	) as $attr => $name ) {
		if ( '' !== $texts[ $name ] ) {
			$count .= ' data-presence-' . $attr . '="' . esc_attr( $texts[ $name ] ) . '"';
		}
	}
	if ( presence_readers_now_texts()['several'] === $texts['several'] ) {
		$count .= presence_plural_attrs( 'several' ); // The default text: its plural forms too.
	}
	$count .= ' aria-live="polite">&nbsp;</span>';
	if ( $views ) {
		$count .= ' <span class="presence-views" data-presence-views aria-live="polite">&nbsp;</span>';
	}
	return presence_wrapper( 'readers-now', $inside, $extra, array(), $count );
}

/**
 * Whether the post's own content holds a "Readers now" block or a [presence_viewers]
 * shortcode (the post is in memory already: no query).
 *
 * @param int $post_id The post.
 * @return bool
 */
function presence_content_places_count( $post_id ) {
	$post = get_post( $post_id );
	if ( ! $post ) {
		return false;
	}
	return ( function_exists( 'has_block' ) && has_block( 'presence/readers-now', $post ) )
		|| has_shortcode( $post->post_content, 'presence_viewers' );
}

/**
 * The block's wrapper: a div with class wp-block-presence-<name> (and, as a block, the
 * classes and styles of its supports), so the count sits in the content column like a
 * paragraph, whatever renders it.
 *
 * @param string $name   'readers-now' or 'popular-now'.
 * @param bool   $inside Rendered as a block (get_block_wrapper_attributes() applies).
 * @param string $extra  More classes.
 * @param array  $attrs  More attributes (name => value).
 * @param string $html   The inside, escaped.
 * @return string
 */
function presence_wrapper( $name, $inside, $extra, $attrs, $html ) {
	wp_enqueue_style( 'presence' );
	$class = trim( ( 'readers-now' === $name ? 'presence-readers-now' : 'presence-popular' ) . ' ' . $extra );
	if ( $inside ) {
		// The block's own classes (className included) come from its supports.
		$class   = 'readers-now' === $name ? 'presence-readers-now' : 'presence-popular';
		$wrapper = get_block_wrapper_attributes( array( 'class' => $class ) );
	} else {
		$wrapper = 'class="' . esc_attr( 'wp-block-presence-' . $name . ' ' . $class ) . '"';
	}
	foreach ( $attrs as $attr => $value ) {
		$wrapper .= ' ' . $attr . '="' . esc_attr( (string) $value ) . '"';
	}
	return '<div ' . $wrapper . '>' . $html . '</div>';
}

/**
 * Renders "Popular now": the block, [presence_popular] and the widget. An empty list that
 * the plugin's list script fills in the browser from /api/top, live.
 *
 * @param array         $attributes limit / className.
 * @param string        $content    Unused.
 * @param WP_Block|null $block      The block, when rendered as one.
 * @return string
 */
function presence_render_popular_now( $attributes = array(), $content = '', $block = null ) {
	unset( $content );
	$limit  = isset( $attributes['limit'] ) ? max( 1, min( 20, (int) $attributes['limit'] ) ) : 5;
	$extra  = isset( $attributes['className'] ) ? (string) $attributes['className'] : '';
	$inside = is_object( $block ) && function_exists( 'get_block_wrapper_attributes' );
	if ( presence_is_editor_preview() ) {
		$items = '';
		$shown = min( 3, $limit );
		for ( $i = 1; $i <= $shown; $i++ ) {
			/* translators: %d: a number, in an example list */
			$items .= '<li><a href="#">' . esc_html( sprintf( __( 'A popular post %d', 'presence' ), $i ) ) . '</a> <span class="presence-badge">' . esc_html( str_replace( '{total}', (string) ( 5 - $i ), presence_popular_texts()['template'] ) ) . '</span></li>';
		}
		return presence_wrapper( 'popular-now', $inside, $extra, array(), '<ol class="presence-popular-list">' . $items . '</ol>' );
	}
	if ( ! presence_load_lists() ) {
		return '';
	}
	return presence_wrapper( 'popular-now', $inside, $extra, presence_popular_attrs( $limit, false ), '' );
}

/**
 * The texts of popular lists.
 *
 * @return array template / empty / error.
 */
function presence_popular_texts() {
	return array(
		/* translators: {total} is replaced by the number of readers of a post now. */
		'template' => __( '{total} reading', 'presence' ),
		'empty'    => __( 'Nobody is reading right now.', 'presence' ),
		/* translators: %s: presence-server URL */
		'error'    => sprintf( __( 'Could not get the counts from presence-server at %s.', 'presence' ), presence_server_url() ),
	);
}

/**
 * The data attributes of a popular list's container, which the list script reads.
 *
 * @param int  $limit Posts shown.
 * @param bool $admin Say so when presence-server cannot be reached (visitors see nothing).
 * @return array
 */
function presence_popular_attrs( $limit, $admin ) {
	$texts = presence_popular_texts();
	$attrs = array(
		'data-presence-top'      => (string) (int) $limit,
		'data-presence-template' => $texts['template'],
		'data-presence-empty'    => $texts['empty'],
		'data-presence-refresh'  => (string) presence_refresh_seconds( $admin ),
	);
	if ( $admin ) {
		$attrs['data-presence-error'] = $texts['error'];
	}
	foreach ( presence_plural_forms( 'reading' ) as $category => $text ) {
		$attrs[ 'data-presence-template-' . $category ] = $text;
	}
	return $attrs;
}

/**
 * How often the browser asks presence-server again which posts are read most (and, on
 * the dashboard, the site's figures), while the page is visible. The counts beside the
 * posts are pushed as they change; this catches posts that start being read, within a
 * second by default. Every page asks the same URL (/api/top?limit=50), which presence-server
 * lets a CDN cache for a second. A list also refreshes when a listed post loses its last
 * reader (at most once a second).
 *
 * @param bool $admin On the dashboard, or for visitors.
 * @return int Seconds.
 */
function presence_refresh_seconds( $admin ) {
	/**
	 * Filters how often a popular list (and the dashboard's figures) asks /api/top again.
	 * Raise it for visitors on a busy site without a CDN in front of presence-server.
	 *
	 * @param int  $seconds Default 1.
	 * @param bool $admin   Whether this is the dashboard.
	 */
	return max( 1, (int) apply_filters( 'presence_refresh_seconds', 1, $admin ) );
}

/**
 * Block Hooks (WordPress 6.4+, block themes): "Readers now" after the post's title (or
 * content) in every template but those that never show a single post (archives, home,
 * search, 404) or show pages, so custom templates assigned to a post (wp-custom-template-*,
 * a theme's own) get it too. The render callback draws nothing for other posts or pages,
 * so a template with a query loop stays clean.
 *
 * @param string[]                $hooked   Block types hooked at this position.
 * @param string                  $position before / after / first_child / last_child.
 * @param string                  $anchor   The anchor block type.
 * @param WP_Block_Template|array $context  The template, template part or pattern.
 * @return string[]
 */
function presence_hooked_blocks( $hooked, $position, $anchor, $context ) {
	if ( 'after' !== $position || '' === presence_server_url() ) {
		return $hooked;
	}
	$placement = presence_placement();
	if ( ! ( 'title' === $placement && 'core/post-title' === $anchor ) && ! ( 'content' === $placement && 'core/post-content' === $anchor ) ) {
		return $hooked;
	}
	if ( $context instanceof WP_Block_Template && 'wp_template' === $context->type
		&& preg_match( '/^(archive|category|tag|taxonomy|author|date|home|front-page|search|404|page)(-|$)/', (string) $context->slug ) ) {
		return $hooked; // Archives, pages, search…: not a single post.
	}
	$hooked[] = 'presence/readers-now';
	return $hooked;
}
add_filter( 'hooked_block_types', 'presence_hooked_blocks', 10, 4 );

/**
 * Whether the block template of this page renders "Readers now" itself: Block Hooks put
 * it there (WordPress inserts hooked blocks into the template's content before the page is
 * rendered), the owner placed it in the Site Editor, or removed the hooked one there (6.5+
 * keeps that as "ignoredHookedBlocks" in the template). Not so in classic themes, before
 * 6.4, in templates edited in the Site Editor on 6.4 (Block Hooks skip them), in templates
 * this plugin does not hook, and where the title sits in a template part or pattern: there
 * the_content places it, and the once-per-page rule keeps a hooked one from doubling it.
 *
 * @return bool
 */
function presence_template_renders_count() {
	global $_wp_current_template_content;
	return is_string( $_wp_current_template_content ) && false !== strpos( $_wp_current_template_content, 'presence/readers-now' );
}

/**
 * The automatic placement through the_content: classic themes, and block themes whose
 * template does not render the block (presence_template_renders_count()). Only the main
 * post of a single-post page, and only if no count was shown yet (a block or shortcode in
 * the content renders before this runs).
 *
 * @param string $content The post content.
 * @return string
 */
function presence_the_content( $content ) {
	$placement = presence_placement();
	if ( 'none' === $placement || presence_template_renders_count() || is_feed() || doing_filter( 'get_the_excerpt' ) ) {
		return $content;
	}
	$post_id = presence_current_post_id();
	$in_loop = in_the_loop() || ( function_exists( 'wp_is_block_theme' ) && wp_is_block_theme() );
	if ( ! $post_id || ! $in_loop || ! is_main_query() || (int) get_the_ID() !== $post_id || presence_readers_now_shown() ) {
		return $content;
	}
	$count = presence_render_readers_now();
	return 'content' === $placement ? $content . $count : $count . $content;
}
add_filter( 'the_content', 'presence_the_content', 20 );

/**
 * [presence_viewers template="{total} people reading" one="" zero="Just you" views="1" class=""]:
 * "Readers now" where a shortcode goes. `template`, `one` and `zero` are the block's texts
 * for several readers, exactly one other, and the reader alone.
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_viewers_shortcode( $atts ) {
	$atts = shortcode_atts(
		array(
			'template' => '',
			'one'      => '',
			'zero'     => '',
			'views'    => '',
			'class'    => '',
		),
		$atts,
		'presence_viewers'
	);
	return presence_render_readers_now(
		array(
			'several'   => $atts['template'],
			'one'       => $atts['one'],
			'alone'     => $atts['zero'],
			'showViews' => in_array( strtolower( (string) $atts['views'] ), array( '1', 'true', 'yes' ), true ),
			'className' => $atts['class'],
		)
	);
}
add_shortcode( 'presence_viewers', 'presence_viewers_shortcode' );

/**
 * [presence_views template="{n} views" one="1 view" class=""]: the all-time views of the
 * page's post, filled by presence.js.
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_views_shortcode( $atts ) {
	$atts = shortcode_atts(
		array(
			'template' => '',
			'one'      => '',
			'class'    => '',
		),
		$atts,
		'presence_views'
	);
	if ( ! presence_current_post_id() || ! presence_load_script() ) {
		return '';
	}
	$html = '<span class="' . esc_attr( trim( 'presence-views ' . $atts['class'] ) ) . '" data-presence-views';
	foreach ( array( 'template', 'one' ) as $name ) {
		if ( '' !== $atts[ $name ] ) {
			$html .= ' data-presence-' . $name . '="' . esc_attr( $atts[ $name ] ) . '"';
		}
	}
	return $html . ' aria-live="polite">&nbsp;</span>';
}
add_shortcode( 'presence_views', 'presence_views_shortcode' );

/**
 * [presence_popular limit="5"]: the posts read most right now, live.
 *
 * @param array|string $atts Shortcode attributes.
 * @return string
 */
function presence_popular_shortcode( $atts ) {
	$atts = shortcode_atts(
		array(
			'limit' => 5,
			'class' => '',
		),
		$atts,
		'presence_popular'
	);
	return presence_render_popular_now(
		array(
			'limit'     => (int) $atts['limit'],
			'className' => $atts['class'],
		)
	);
}
add_shortcode( 'presence_popular', 'presence_popular_shortcode' );
