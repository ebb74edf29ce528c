<?php
/**
 * Live notices: messages pushed to everyone reading a post right now (docs/notices.md).
 *
 * With a "Notices token" (presence-server's notices.token) set:
 * - saving a published post whose content changed sends an "updated" notice (readers get
 *   "This post was updated." and a Reload link), in the background;
 * - the "Send a notice to current readers" box in the editor sends a "text" notice on save.
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
	echo '<p class="description">' . esc_html__( 'The notices.token of presence-server. With a token, saving a published post whose content changed tells its current readers "This post was updated." with a Reload link, and the post editor gets a box to send them a short message. Without one, no notices are sent.', 'presence' ) . '</p>';
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

/**
 * POSTs a notice to presence-server.
 *
 * @param int   $post_id  The post whose readers get it; 0 for every reader of the site.
 * @param array $notice   array( 'kind' => 'updated'|'text', 'text' => …, 'url' => … ).
 * @param bool  $blocking False: send and return at once (the answer is not read).
 * @return array|WP_Error The wp_remote_post() result.
 */
function presence_send_notice( $post_id, $notice, $blocking ) {
	$path = $post_id ? '/api/posts/' . rawurlencode( (string) $post_id ) . '/notices' : '/api/notices';
	return wp_remote_post(
		presence_server_url() . $path,
		array(
			'timeout'  => $blocking ? 5 : 2,
			'blocking' => $blocking,
			'headers'  => array(
				'Authorization' => 'Bearer ' . presence_notices_token(),
				'Content-Type'  => 'application/json',
			),
			'body'     => wp_json_encode( $notice ),
		)
	);
}

/**
 * On post_updated: a published post whose title or content changed sends an "updated"
 * notice, in the background. Autosaves, revisions and unchanged saves send nothing.
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
	presence_send_notice( $post_id, array( 'kind' => 'updated' ), false );
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
 * Renders the box: a text (max 280 characters), an optional link, and the last answer.
 *
 * @param WP_Post $post The post.
 */
function presence_notice_meta_box( $post ) {
	wp_nonce_field( 'presence_notice_' . $post->ID, 'presence_notice_nonce' );
	echo '<p><label for="presence_notice_text">' . esc_html__( 'Message', 'presence' ) . '</label>';
	printf(
		'<textarea class="widefat" rows="3" id="presence_notice_text" name="presence_notice_text" maxlength="%d"></textarea></p>',
		(int) PRESENCE_NOTICE_MAX_CHARS
	);
	echo '<p><label for="presence_notice_url">' . esc_html__( 'Link (optional)', 'presence' ) . '</label>';
	echo '<input type="url" class="widefat" id="presence_notice_url" name="presence_notice_url" value="" placeholder="https://"></p>';
	echo '<p class="description">' . esc_html__( 'Sent when you save or update the post, to everyone reading it now; it shows at the bottom of their page. The same message is not sent twice in a row.', 'presence' ) . '</p>';
	$last = get_post_meta( $post->ID, '_presence_notice_last', true );
	if ( is_array( $last ) && isset( $last['time'], $last['message'] ) ) {
		echo '<p>' . esc_html(
			sprintf(
				/* translators: 1: how long ago, 2: the result */
				__( 'Last notice, %1$s ago: %2$s', 'presence' ),
				human_time_diff( (int) $last['time'] ),
				$last['message']
			)
		) . '</p>';
	}
}

/**
 * On save_post: sends the box's message, if any, as a "text" notice and keeps the
 * server's answer for the admin notice (classic editor) and the box.
 *
 * @param int     $post_id The post ID.
 * @param WP_Post $post    The post.
 */
function presence_notice_save_post( $post_id, $post ) {
	if ( ! isset( $_POST['presence_notice_nonce'], $_POST['presence_notice_text'] )
		|| ! wp_verify_nonce( sanitize_key( wp_unslash( $_POST['presence_notice_nonce'] ) ), 'presence_notice_' . $post_id ) ) {
		return;
	}
	if ( ( defined( 'DOING_AUTOSAVE' ) && DOING_AUTOSAVE ) || wp_is_post_revision( $post_id ) || ! current_user_can( 'edit_post', $post_id ) || ! presence_notices_apply( $post ) ) {
		return;
	}
	// One line of plain text: presence-server refuses control characters such as line breaks.
	$text = sanitize_text_field( (string) preg_replace( '/\p{Cc}+/u', ' ', wp_unslash( $_POST['presence_notice_text'] ) ) );
	$text = mb_substr( $text, 0, PRESENCE_NOTICE_MAX_CHARS ); // WordPress provides mb_substr without mbstring.
	if ( '' === $text ) {
		return;
	}
	$url = isset( $_POST['presence_notice_url'] ) ? esc_url_raw( trim( wp_unslash( $_POST['presence_notice_url'] ) ), array( 'http', 'https' ) ) : '';
	$url = preg_match( '#^https?://[^/]#i', $url ) ? $url : '';

	$notice = array(
		'kind' => 'text',
		'text' => $text,
	);
	if ( '' !== $url ) {
		$notice['url'] = $url;
	}
	// The block editor keeps the box's fields after saving: do not send the same notice again.
	$hash = md5( $text . "\n" . $url );
	$last = get_post_meta( $post_id, '_presence_notice_last', true );
	if ( is_array( $last ) && isset( $last['hash'] ) && $last['hash'] === $hash && ! empty( $last['sent'] ) ) {
		return;
	}
	$result = presence_notice_result( presence_send_notice( $post_id, $notice, true ) );
	update_post_meta(
		$post_id,
		'_presence_notice_last',
		array(
			'hash'    => $hash,
			'sent'    => $result['sent'],
			'time'    => time(),
			'message' => $result['message'],
		)
	);
	set_transient( 'presence_notice_result_' . get_current_user_id(), $result, 60 );
}
add_action( 'save_post', 'presence_notice_save_post', 10, 2 );

/**
 * What presence-server answered, in words: array( 'sent' => bool, 'message' => string ).
 *
 * @param array|WP_Error $response The wp_remote_post() result.
 * @return array
 */
function presence_notice_result( $response ) {
	if ( is_wp_error( $response ) ) {
		/* translators: %s: the error */
		return array( 'sent' => false, 'message' => sprintf( __( 'not sent: presence-server did not answer (%s).', 'presence' ), $response->get_error_message() ) );
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$body   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
	$detail = is_array( $body ) && isset( $body['message'] ) && is_string( $body['message'] ) ? $body['message'] : '';
	switch ( $status ) {
		case 202:
			return array( 'sent' => true, 'message' => __( 'sent to the current readers.', 'presence' ) );
		case 401:
			$why = __( 'presence-server refused the notices token; check it under Settings → Presence.', 'presence' );
			break;
		case 404:
			$why = __( 'presence-server has no notices token configured (notices.token).', 'presence' );
			break;
		case 429:
			$why = __( 'too many notices for now; try again in a minute.', 'presence' );
			break;
		default:
			$why = '' !== $detail ? $detail : __( 'unexpected answer.', 'presence' );
	}
	/* translators: 1: HTTP status, 2: the reason */
	return array( 'sent' => false, 'message' => sprintf( __( 'not sent (HTTP %1$d): %2$s', 'presence' ), $status, $why ) );
}

/**
 * Shows the answer to the notice just sent (the classic editor; the block editor shows
 * it in the box once the page is reloaded).
 */
function presence_notice_admin_notice() {
	$key    = 'presence_notice_result_' . get_current_user_id();
	$result = get_transient( $key );
	if ( ! is_array( $result ) || ! isset( $result['message'] ) ) {
		return;
	}
	delete_transient( $key );
	printf(
		'<div class="notice %s is-dismissible"><p>%s</p></div>',
		esc_attr( empty( $result['sent'] ) ? 'notice-error' : 'notice-success' ),
		esc_html( __( 'Notice to current readers:', 'presence' ) . ' ' . $result['message'] )
	);
}
add_action( 'admin_notices', 'presence_notice_admin_notice' );
