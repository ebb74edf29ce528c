<?php
/**
 * Plugin Name: Test web server
 * Description: What the test's web server (php -S with router.php) can do: rewrite
 * URLs like Apache's mod_rewrite, so WordPress offers pretty permalinks.
 */
add_filter( 'got_url_rewrite', '__return_true' );
