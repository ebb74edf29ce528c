<?php
/**
 * Live notices: messages pushed to everyone reading a post right now (docs/notices.md).
 *
 * With a "Notices token" (presence-server's notices.token) set:
 * - saving a published post whose title or content changed sends an "updated" notice
 *   (readers get "This post was updated." and a Reload link), unless "Notify readers of
 *   this update" was unticked for that save;
 * - the "Send a notice to current readers" box in the editor sends a "text" notice on save.
 *
 * WordPress never sends them itself, so a save never waits for presence-server: the save
 * queues the notice in post meta, and the editor's browser sends it right after the save
 * (the block editor asks presence/v1/posts/<id>/notices once the save and its meta boxes
 * are done; the classic editor's page after the redirect carries it), with a notice token
 * for that one post that WordPress signs and that expires in minutes (docs/notices.md).
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Longest notice text, in characters (presence-server's default notices.max_text_chars). */
define( 'PRESENCE_NOTICE_MAX_CHARS', 280 );

/**
 * The notices token, or '' when notices are off.
 *
 * @return string
 */
function presence_notices_token() {
	return (string) get_option( 'presence_notices_token', '' );
}

/**
 * Sanitizes the notices token like the signing secret: the form sends
 * array( 'value' => …, 'clear' => '1' ); an empty value keeps the stored token.
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_sanitize_notices_token( $value ) {
	if ( ! is_array( $value ) ) {
		return trim( (string) $value );
	}
	if ( ! empty( $value['clear'] ) ) {
		return '';
	}
	$token = isset( $value['value'] ) ? trim( (string) $value['value'] ) : '';
	return '' !== $token ? $token : presence_notices_token();
}

/**
 * Registers the setting and its field on Settings → Presence (after the plugin's own).
 */
function presence_register_notices_setting() {
	register_setting(
		'presence',
		'presence_notices_token',
		array(
			'type'              => 'string',
			'sanitize_callback' => 'presence_sanitize_notices_token',
			'default'           => '',
			'show_in_rest'      => false,
		)
	);
	add_settings_field(
		'presence_notices_token',
		__( 'Notices token', 'presence' ),
		'presence_field_notices_token',
		'presence',
		'presence_main',
		array( 'label_for' => 'presence_notices_token' )
	);
}
add_action( 'admin_init', 'presence_register_notices_setting', 11 );

/**
 * Renders the notices token field: a password input that is always empty (the token is
 * never printed into the page), saying whether a token is set.
 */
function presence_field_notices_token() {
	$set = '' !== presence_notices_token();
	printf(
		'<input type="password" class="regular-text code" id="presence_notices_token" name="presence_notices_token[value]" value="" autocomplete="new-password" spellcheck="false" placeholder="%s">',
		esc_attr( $set ? __( '(set — leave empty to keep it)', 'presence' ) : __( '(not set)', 'presence' ) )
	);
	if ( $set ) {
		echo ' <label><input type="checkbox" name="presence_notices_token[clear]" value="1"> ' . esc_html__( 'Remove the token', 'presence' ) . '</label>';
	}
	echo '<p class="description">' . esc_html__( 'The notices.token of presence-server. With a token, saving a published post whose content changed tells its current readers "This post was updated." with a Reload link, and the post editor gets a box to send them a short message. The editor\'s browser sends them after the save, with a token for that post valid for minutes; this token never leaves WordPress. Without one, no notices are sent.', 'presence' ) . '</p>';
}

/**
 * Whether notices are set up and apply to posts of this type.
 *
 * @param WP_Post $post The post.
 * @return bool
 */
function presence_notices_apply( $post ) {
	/**
	 * Filters the post types whose readers get notices. Default: array( 'post' ), where
	 * presence.js loads (see the presence_enabled filter).
	 *
	 * @param string[] $types Post types.
	 */
	$types = (array) apply_filters( 'presence_notice_post_types', array( 'post' ) );
	return '' !== presence_notices_token() && '' !== presence_server_url()
		&& $post instanceof WP_Post && in_array( $post->post_type, $types, true );
}

/** How long a notice token handed to the editor's browser stays valid, in seconds. */
define( 'PRESENCE_NOTICE_TOKEN_SECONDS', 600 );

/** Queued notices older than this (seconds) are dropped instead of sent. */
define( 'PRESENCE_NOTICE_QUEUE_SECONDS', 900 );

/**
 * Queues a notice for the browser of the user who saved, to send after the save.
 *
 * @param int   $post_id The post whose readers get it.
 * @param array $notice  array( 'kind' => 'updated'|'text', 'text' => …, 'url' => … ).
 */
function presence_queue_notice( $post_id, $notice ) {
	$queue = presence_notice_queue( $post_id );
	$user  = get_current_user_id();
	foreach ( $queue as $item ) {
		if ( $item['notice'] === $notice && isset( $item['user'] ) && $item['user'] === $user ) {
			return; // The same notice is queued already.
		}
	}
	$queue[] = array(
		'notice' => $notice,
		'time'   => time(),
		'user'   => $user,
	);
	update_post_meta( $post_id, '_presence_notice_pending', array_slice( $queue, -5 ) );
}

/**
 * The notices queued for a post and not too old.
 *
 * @param int $post_id The post.
 * @return array List of array( 'notice' => array, 'time' => int ).
 */
function presence_notice_queue( $post_id ) {
	$queue = get_post_meta( $post_id, '_presence_notice_pending', true );
	$fresh = array();
	foreach ( is_array( $queue ) ? $queue : array() as $item ) {
		if ( isset( $item['notice']['kind'], $item['time'] ) && $item['time'] > time() - PRESENCE_NOTICE_QUEUE_SECONDS ) {
			$fresh[] = $item;
		}
	}
	return $fresh;
}

/**
 * Takes the notices of a post that the current user's saves queued, for their browser: the
 * server URL, a notice token for the post, and the notices; null when there is nothing to
 * send. Other users' notices stay queued for them.
 *
 * @param int $post_id The post.
 * @return array|null array( 'post' => key, 'server' => URL, 'auth' => 'Bearer …', 'notices' => list ).
 */
function presence_take_notices( $post_id ) {
	if ( ! metadata_exists( 'post', $post_id, '_presence_notice_pending' ) ) {
		return null;
	}
	$user   = get_current_user_id();
	$queue  = array();
	$others = array();
	foreach ( presence_notice_queue( $post_id ) as $item ) {
		if ( isset( $item['user'] ) && (int) $item['user'] !== $user ) {
			$others[] = $item;
		} else {
			$queue[] = $item;
		}
	}
	if ( $others ) {
		update_post_meta( $post_id, '_presence_notice_pending', $others );
	} else {
		delete_post_meta( $post_id, '_presence_notice_pending' );
	}
	$post = get_post( $post_id );
	if ( ! $queue || ! presence_notices_apply( $post ) || 'publish' !== $post->post_status ) {
		return null;
	}
	$expiry = time() + PRESENCE_NOTICE_TOKEN_SECONDS;
	return array(
		'post'    => presence_post_key( $post_id ),
		'server'  => presence_server_url(),
		'auth'    => 'Bearer ' . presence_sign_notice( presence_post_key( $post_id ), $expiry, presence_notices_token() ),
		'notices' => wp_list_pluck( $queue, 'notice' ),
	);
}

/**
 * Whether this save comes from a person in a post editor, whose browser can send the
 * notice right after it and who could untick "Notify readers of this update": the classic
 * editor's (or the block editor's meta box) form with the box's nonce, or the block
 * editor's REST save (a logged-in browser session: the REST cookie nonce). Not Quick Edit,
 * bulk edit, REST clients with application passwords, WP-CLI, imports or cron.
 *
 * @param int $post_id The post being saved.
 * @return bool
 */
function presence_notice_interactive_save( $post_id ) {
	if ( isset( $_POST['presence_notice_nonce'] )
		&& wp_verify_nonce( sanitize_key( wp_unslash( $_POST['presence_notice_nonce'] ) ), 'presence_notice_' . $post_id ) ) {
		return true;
	}
	return defined( 'REST_REQUEST' ) && REST_REQUEST && is_user_logged_in()
		&& ( isset( $_SERVER['HTTP_X_WP_NONCE'] ) || isset( $_REQUEST['_wpnonce'] ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- WordPress checked the REST cookie nonce (rest_cookie_check_errors); this only asks whether one came.
}

/**
 * On post_updated: a published post whose title or content changed in a post editor
 * (presence_notice_interactive_save()) queues an "updated" notice for the user who saved.
 * Autosaves, revisions, unchanged saves, the first publication and saves from elsewhere
 * queue nothing.
 *
 * @param int     $post_id     The post ID.
 * @param WP_Post $post_after  The post as saved.
 * @param WP_Post $post_before The post before.
 */
function presence_notice_post_updated( $post_id, $post_after, $post_before ) {
	if ( ( defined( 'DOING_AUTOSAVE' ) && DOING_AUTOSAVE ) || wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id ) ) {
		return;
	}
	if ( ! presence_notices_apply( $post_after ) || 'publish' !== $post_after->post_status || 'publish' !== $post_before->post_status ) {
		return;
	}
	if ( $post_after->post_content === $post_before->post_content && $post_after->post_title === $post_before->post_title ) {
		return;
	}
	if ( ! presence_notice_interactive_save( $post_id ) ) {
		return;
	}
	presence_queue_notice( $post_id, array( 'kind' => 'updated' ) );
}
add_action( 'post_updated', 'presence_notice_post_updated', 10, 3 );

/**
 * Adds the "Send a notice to current readers" box to the post editor.
 *
 * @param string  $post_type The post type.
 * @param WP_Post $post      The post.
 */
function presence_notice_add_meta_box( $post_type, $post ) {
	if ( presence_notices_apply( $post ) && current_user_can( 'edit_post', $post->ID ) ) {
		add_meta_box( 'presence-notice', __( 'Send a notice to current readers', 'presence' ), 'presence_notice_meta_box', $post_type, 'side' );
	}
}
add_action( 'add_meta_boxes', 'presence_notice_add_meta_box', 10, 2 );

/**
 * Renders the box: "Notify readers of this update" (ticked for every save), a text (max
 * 280 characters) and an optional link.
 *
 * @param WP_Post $post The post.
 */
function presence_notice_meta_box( $post ) {
	wp_nonce_field( 'presence_notice_' . $post->ID, 'presence_notice_nonce' );
	echo '<p><label><input type="checkbox" id="presence_notify" name="presence_notify" value="1" checked> ' . esc_html__( 'Notify readers of this update', 'presence' ) . '</label></p>';
	echo '<p class="description">' . esc_html__( 'Readers of the published post are told "This post was updated." when you change its title or content. Untick for a typo fix.', 'presence' ) . '</p>';
	echo '<p><label for="presence_notice_text">' . esc_html__( 'Message', 'presence' ) . '</label>';
	printf(
		'<textarea class="widefat" rows="3" id="presence_notice_text" name="presence_notice_text" maxlength="%d"></textarea></p>',
		(int) PRESENCE_NOTICE_MAX_CHARS
	);
	echo '<p><label for="presence_notice_url">' . esc_html__( 'Link (optional)', 'presence' ) . '</label>';
	echo '<input type="url" class="widefat" id="presence_notice_url" name="presence_notice_url" value="" placeholder="https://"></p>';
	echo '<p class="description">' . esc_html__( 'Sent when you save or update the post, to everyone reading it now; it shows at the bottom of their page.', 'presence' ) . '</p>';
}

/**
 * On save_post, with the box's form: an unticked "Notify readers of this update" takes
 * back the "updated" notice this save queued (the block editor saves the box after the
 * post), and the box's message, if any, is queued as a "text" notice.
 *
 * @param int     $post_id The post ID.
 * @param WP_Post $post    The post.
 */
function presence_notice_save_post( $post_id, $post ) {
	if ( ! isset( $_POST['presence_notice_nonce'] )
		|| ! wp_verify_nonce( sanitize_key( wp_unslash( $_POST['presence_notice_nonce'] ) ), 'presence_notice_' . $post_id ) ) {
		return;
	}
	if ( ( defined( 'DOING_AUTOSAVE' ) && DOING_AUTOSAVE ) || wp_is_post_revision( $post_id ) || ! current_user_can( 'edit_post', $post_id ) || ! presence_notices_apply( $post ) ) {
		return;
	}
	$notify = ! empty( $_POST['presence_notify'] );
	update_post_meta( $post_id, '_presence_notify', $notify ? '1' : '0' );
	if ( ! $notify ) {
		$queue = array();
		foreach ( presence_notice_queue( $post_id ) as $item ) {
			if ( 'updated' !== $item['notice']['kind'] ) {
				$queue[] = $item;
			}
		}
		update_post_meta( $post_id, '_presence_notice_pending', $queue );
	}
	if ( ! isset( $_POST['presence_notice_text'] ) ) {
		return;
	}
	// One line of plain text: sanitize_text_field() folds line breaks and tabs; presence-server
	// refuses any other control character too.
	$text = trim( (string) preg_replace( '/\p{Cc}+/u', ' ', sanitize_text_field( wp_unslash( $_POST['presence_notice_text'] ) ) ) );
	$text = mb_substr( $text, 0, PRESENCE_NOTICE_MAX_CHARS ); // WordPress provides mb_substr without mbstring.
	if ( '' === $text ) {
		return;
	}
	// A type="url" field: the browser strips surrounding whitespace; esc_url_raw() the rest.
	$url    = isset( $_POST['presence_notice_url'] ) ? esc_url_raw( wp_unslash( $_POST['presence_notice_url'] ), array( 'http', 'https' ) ) : '';
	$notice = array(
		'kind' => 'text',
		'text' => $text,
	);
	if ( preg_match( '#^https?://[^/]#i', $url ) ) {
		$notice['url'] = $url;
	}
	presence_queue_notice( $post_id, $notice );
}
add_action( 'save_post', 'presence_notice_save_post', 10, 2 );

/**
 * Registers POST presence/v1/posts/<id>/notices: takes the notices a save queued, for the
 * block editor's browser to send (see presence_take_notices()).
 */
function presence_register_notices_rest() {
	register_rest_route(
		'presence/v1',
		'/posts/(?P<id>\d+)/notices',
		array(
			'methods'             => 'POST',
			'callback'            => 'presence_rest_take_notices',
			'permission_callback' => 'presence_rest_can_edit',
		)
	);
}
add_action( 'rest_api_init', 'presence_register_notices_rest' );

/**
 * Whether the current user may edit the post of the request.
 *
 * @param WP_REST_Request $request The request.
 * @return bool
 */
function presence_rest_can_edit( $request ) {
	return current_user_can( 'edit_post', (int) $request['id'] );
}

/**
 * The REST answer: what presence_take_notices() gives, or { "notices": [] }.
 *
 * @param WP_REST_Request $request The request.
 * @return array
 */
function presence_rest_take_notices( $request ) {
	$batch = presence_take_notices( (int) $request['id'] );
	return $batch ? $batch : array( 'notices' => array() );
}

/**
 * On the post editor (block or classic): asks the loader for the notice script; in the
 * classic editor, with the notices queued by the save that redirected here.
 *
 * @param string $hook_suffix The admin screen.
 */
function presence_notice_editor_scripts( $hook_suffix ) {
	if ( ! in_array( $hook_suffix, array( 'post.php', 'post-new.php' ), true ) ) {
		return;
	}
	$post = get_post();
	if ( ! $post || ! presence_notices_apply( $post ) || ! current_user_can( 'edit_post', $post->ID ) ) {
		return;
	}
	// The block editor takes its notices over REST once a save and its meta boxes are done
	// (its meta box save ends on a render of this page, which must not take them).
	$block = function_exists( 'use_block_editor_for_post' ) && use_block_editor_for_post( $post );
	$batch = $block ? null : presence_take_notices( $post->ID );
	$texts = array(
		'sent'   => __( 'Notice to current readers: sent.', 'presence' ),
		/* translators: %s: why the notice was not sent */
		'failed' => __( 'Notice to current readers: not sent (%s).', 'presence' ),
		'silent' => __( 'presence-server did not answer', 'presence' ),
	);
	presence_scripts(
		'presence-notices',
		plugins_url( 'assets/presence-notices.js', PRESENCE_FILE ) . '?ver=' . PRESENCE_VERSION,
		array(
			'data-post-id'        => (string) $post->ID,
			'data-presence-take'  => 'presence/v1/posts/' . $post->ID . '/notices',
			'data-presence-batch' => (string) wp_json_encode( $batch ),
			'data-presence-texts' => (string) wp_json_encode( $texts ),
		)
	);
}
add_action( 'admin_enqueue_scripts', 'presence_notice_editor_scripts' );
