/*! Presence: sends the notices a save queued, from the editor's browser. */
/*
 * WordPress never contacts presence-server while saving: a save queues its notices, and
 * this script (loaded by the plugin's inline loader after the editor page's `load`) sends
 * them with the short-lived notice token WordPress signed for the post
 * (`Authorization: Bearer <expiry>.<hmac>`, docs/notices.md).
 * - data-presence-batch: what a save before this page load queued (the classic editor
 *   saves, then redirects here), or null;
 * - in the block editor: after each save (not autosaves), once its meta boxes are saved
 *   too, POST presence/v1/posts/<id>/notices (data-presence-take) takes what it queued.
 * The answer shows as an admin notice (classic) or an editor notice (block editor).
 */
( function ( w, d ) {
	var me = d.currentScript;
	if ( ! me || ! w.fetch ) {
		return;
	}
	var texts = JSON.parse( me.getAttribute( 'data-presence-texts' ) || '{}' );
	var wp = w.wp || {};

	function say( ok, why ) {
		var text = ok ? texts.sent : ( texts.failed || '%s' ).replace( '%s', why );
		var notices = wp.data && wp.data.dispatch && d.body.classList.contains( 'block-editor-page' ) && wp.data.dispatch( 'core/notices' );
		if ( notices ) {
			notices.createNotice( ok ? 'success' : 'error', text, { id: 'presence-notice', isDismissible: true } );
			return;
		}
		var box = d.createElement( 'div' );
		var p = d.createElement( 'p' );
		var anchor = d.querySelector( '.wp-header-end' ) || d.querySelector( '#wpbody-content .wrap h1' );
		box.className = 'notice is-dismissible presence-notice-result ' + ( ok ? 'notice-success' : 'notice-error' );
		p.textContent = text;
		box.appendChild( p );
		if ( anchor ) {
			anchor.parentNode.insertBefore( box, anchor.nextSibling );
		}
	}

	function send( batch ) {
		( batch && batch.notices || [] ).forEach( function ( notice ) {
			var ctl = w.AbortController && new AbortController();
			var t = ctl && setTimeout( function () { ctl.abort(); }, 1e4 );
			fetch( batch.server + '/api/posts/' + encodeURIComponent( batch.post ) + '/notices', {
				method: 'POST',
				credentials: 'omit',
				headers: { Authorization: batch.auth, 'Content-Type': 'application/json' },
				body: JSON.stringify( notice ),
				signal: ctl && ctl.signal
			} ).then( function ( r ) {
				clearTimeout( t );
				say( r.status === 202, 'HTTP ' + r.status );
			}, function () {
				say( false, texts.silent );
			} );
			if ( notice.kind === 'text' ) {
				// The block editor keeps the box's fields after saving: not the same message twice.
				[ 'presence_notice_text', 'presence_notice_url' ].forEach( function ( id ) {
					var field = d.getElementById( id );
					if ( field ) {
						field.value = '';
					}
				} );
			}
		} );
	}

	send( JSON.parse( me.getAttribute( 'data-presence-batch' ) || 'null' ) );

	if ( ! wp.data || ! wp.apiFetch || ! d.body.classList.contains( 'block-editor-page' ) ) {
		return;
	}
	var was = false;
	var timer;
	function saving() {
		var editor = wp.data.select( 'core/editor' );
		var post = wp.data.select( 'core/edit-post' );
		return !! ( editor && editor.isSavingPost() && ! editor.isAutosavingPost() ) ||
			!! ( post && post.isSavingMetaBoxes && post.isSavingMetaBoxes() );
	}
	function take() {
		if ( saving() ) {
			return; // The meta boxes are being saved: their end calls again.
		}
		// "Notify readers of this update" is for one save: the block editor keeps the meta
		// box as it was, so tick it again for the next one.
		var notify = d.getElementById( 'presence_notify' );
		if ( notify ) {
			notify.checked = true;
		}
		wp.apiFetch( { path: me.getAttribute( 'data-presence-take' ), method: 'POST' } ).then( send, function () {} );
	}
	wp.data.subscribe( function () {
		var now = saving();
		if ( was && ! now ) {
			clearTimeout( timer );
			timer = setTimeout( take, 300 );
		}
		was = now;
	} );
}( window, document ) );
