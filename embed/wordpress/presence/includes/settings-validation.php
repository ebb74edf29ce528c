<?php
/**
 * What Settings → Presence refuses, and says so: a URL that is not http(s) (javascript:,
 * ftp:, …) and a number that is negative, not a whole number, or over its limit. The
 * field keeps its previous value and the page shows an error (add_settings_error) in place
 * of "Settings saved.", instead of storing a silently changed value.
 *
 * These callbacks are for the form (register_setting). The plain presence_sanitize_*
 * functions stay quiet: they also clean values read back from the database.
 *
 * @package Presence
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Refuses a submitted value: shows $message once and returns the option's previous value.
 * settings_errors() prints the message as HTML: what goes into it is escaped first.
 *
 * WordPress runs a setting's sanitizer twice when the option did not exist yet (once for
 * update_option, once for add_option), hence "once".
 *
 * @param string $option  Option name (also the error's code).
 * @param string $message What was refused, and what is allowed.
 * @return mixed The stored value.
 */
function presence_refuse_setting( $option, $message ) {
	static $said = array();
	if ( empty( $said[ $option ] ) ) {
		$said[ $option ] = true;
		add_settings_error( $option, $option, $message, 'error' );
	}
	return get_option( $option );
}

/**
 * Validates a URL setting: empty, or an http(s) URL (stored without a trailing slash).
 *
 * @param string $option Option name.
 * @param string $label  The field's label, as the form shows it.
 * @param mixed  $value  Submitted value.
 * @return string
 */
function presence_validate_url_setting( $option, $label, $value ) {
	$value = trim( is_scalar( $value ) ? (string) $value : '' );
	if ( '' === $value ) {
		return '';
	}
	$url    = presence_sanitize_server_url( $value );
	$scheme = strtolower( (string) wp_parse_url( $value, PHP_URL_SCHEME ) );
	$host   = (string) wp_parse_url( $value, PHP_URL_HOST );
	if ( '' === $url || ! in_array( $scheme, array( 'http', 'https' ), true ) || '' === $host ) {
		return presence_refuse_setting(
			$option,
			sprintf(
				/* translators: 1: the field's label, 2: the refused value. */
				__( '%1$s: "%2$s" is not an http:// or https:// URL, so it was not saved; the previous value is kept.', 'presence' ),
				esc_html( $label ),
				esc_html( $value )
			)
		);
	}
	return $url;
}

/**
 * Validates a whole-number setting within 0…$max.
 *
 * @param string $option Option name.
 * @param string $label  The field's label, as the form shows it.
 * @param mixed  $value  Submitted value.
 * @param int    $max    Largest value allowed.
 * @return int|mixed The number, or the stored value when refused.
 */
function presence_validate_number_setting( $option, $label, $value, $max ) {
	$value = trim( is_scalar( $value ) ? (string) $value : '' );
	if ( '' === $value ) {
		return 0;
	}
	if ( ! preg_match( '/^\d+$/', $value ) || (int) $value > $max ) {
		return presence_refuse_setting(
			$option,
			sprintf(
				/* translators: 1: the field's label, 2: the refused value, 3: the largest number allowed. */
				__( '%1$s: "%2$s" is not a whole number from 0 to %3$d, so it was not saved; the previous value is kept.', 'presence' ),
				esc_html( $label ),
				esc_html( $value ),
				$max
			)
		);
	}
	return (int) $value;
}

/**
 * The form's "Server URL".
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_validate_server_url( $value ) {
	return presence_validate_url_setting( 'presence_server_url', __( 'Server URL', 'presence' ), $value );
}

/**
 * The form's "Server URL for WordPress".
 *
 * @param mixed $value Submitted value.
 * @return string
 */
function presence_validate_internal_url( $value ) {
	return presence_validate_url_setting( 'presence_internal_url', __( 'Server URL for WordPress', 'presence' ), $value );
}

/**
 * The form's "Stop counting hidden tabs after" seconds (0 = off).
 *
 * @param mixed $value Submitted value.
 * @return int
 */
function presence_validate_idle( $value ) {
	return (int) presence_validate_number_setting( 'presence_idle_seconds', __( 'Stop counting hidden tabs after', 'presence' ), $value, 86400 );
}

/**
 * The form's token lifetime in hours (0 or empty = the default).
 *
 * @param mixed $value Submitted value.
 * @return int
 */
function presence_validate_token_hours( $value ) {
	$hours = (int) presence_validate_number_setting( 'presence_token_hours', __( 'Token lifetime (hours)', 'presence' ), $value, 8760 );
	return $hours ? $hours : PRESENCE_TOKEN_HOURS;
}
