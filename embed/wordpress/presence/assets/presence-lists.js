/*! Presence: the "Popular now" lists and the dashboard's figures, filled in the browser. */
/*
 * Loaded by the plugin's inline loader after the page's `load` (see includes/loader.php),
 * beside presence.js. Asks presence-server for /api/top (and /api/stats where the page has
 * figures), and this site's REST route presence/v1/posts for the titles and links of the
 * ids that are published posts here. Each list item carries a badge that presence.js
 * watches over the page's one websocket, so counts are pushed as they change; through
 * presence.js's hook (window.presence.on) this script keeps the items' order and
 * data-presence-count in step, asks again when a listed post loses its last reader or the
 * page's own post is not listed yet, and every data-presence-refresh seconds while the page
 * is visible, for posts that start being read.
 *
 * Containers: [data-presence-top="<limit>"] with data-presence-template ("{total} reading"),
 * data-presence-empty (said only when presence-server lists nobody reading at all),
 * data-presence-error (admin screens: said when presence-server does not answer),
 * data-presence-refresh (seconds). Figures: [data-presence-stats-viewers],
 * [data-presence-stats-posts].
 */
( function ( w, d ) {
	var me = d.currentScript;
	if ( ! me || ! w.fetch || w.presenceLists ) {
		return;
	}
	w.presenceLists = 1;
	var server = me.getAttribute( 'data-presence-server' );
	var rest = me.getAttribute( 'data-presence-posts' );
	var own = me.getAttribute( 'data-post-id' );
	// This site's keys on presence-server: "<blog_id>-<post id>" on multisite, the bare id
	// on a single site (data-presence-prefix "").
	var prefix = me.getAttribute( 'data-presence-prefix' ) || '';
	var posts = {}; // key => { id, title, link }, or 0: not a published post of this site
	var live = {}; // key => { n: readers, t: when presence.js's socket said so }
	// The page's language (<html lang>), for plural forms and numbers; the browser's where
	// it is missing or not a valid language tag.
	var plural, lang;
	try {
		plural = new Intl.PluralRules( d.documentElement.lang || undefined );
		lang = plural.resolvedOptions().locale;
	} catch ( e ) {}
	var busy, again, soonT, hooked, ownSeen, tries = 0, last = 0, quiet = 0;
	// One /api/top URL for every page and list (presence-server's answer may be cached for a
	// second by a CDN, never by the browser: it sends Cache-Control: public, max-age=0,
	// s-maxage=1); 50 covers lists of up to 20 posts with room for ids that are not this
	// site's posts.
	var LIMIT = 50;

	function all( q ) {
		return Array.prototype.slice.call( d.querySelectorAll( q ) );
	}

	function get( url ) {
		var ctl = w.AbortController && new AbortController();
		var t = ctl && setTimeout( function () { ctl.abort(); }, 1e4 );
		return fetch( url, { credentials: 'omit', signal: ctl && ctl.signal } ).then( function ( r ) {
			clearTimeout( t );
			if ( ! r.ok ) {
				throw new Error( 'HTTP ' + r.status );
			}
			return r.json();
		} );
	}

	function soon() {
		soonT = soonT || setTimeout( function () {
			soonT = 0;
			refresh();
		}, 1e3 );
	}

	function refresh() {
		var lists = all( '[data-presence-top]' );
		var figures = all( '[data-presence-stats-viewers],[data-presence-stats-posts]' ).length;
		hook();
		if ( busy ) {
			again = 1;
			return;
		}
		if ( ! lists.length && ! figures ) {
			return;
		}
		busy = 1;
		last = Date.now();
		var asked = Date.now();
		Promise.all( [
			lists.length ? get( server + '/api/top?limit=' + LIMIT ) : null,
			figures ? get( server + '/api/stats' ) : null
		] ).then( function ( r ) {
			var top = r[ 0 ] ? r[ 0 ].posts : [];
			var need = [];
			top.forEach( function ( p ) {
				var k = String( p.post_id );
				var id = k.slice( prefix.length );
				if ( ! ( k in posts ) ) {
					if ( k.slice( 0, prefix.length ) === prefix && /^\d+$/.test( id ) ) {
						need.push( id );
					} else {
						posts[ k ] = 0;
					}
				}
			} );
			// Sorted: the same ids make the same URL for every visitor (cacheable).
			need.sort( function ( x, y ) {
				return x - y;
			} );
			// What is known shows now: a title WordPress is still asked for must not keep
			// "Nobody is reading" (or old figures) up meanwhile.
			if ( need.length ) {
				show( lists, top, r[ 1 ], asked );
			}
			// When WordPress does not answer (a blip, or a plugin that closes the REST API to
			// visitors: 401), the lists show what they know and ask again a minute later.
			var titles = need.length && Date.now() >= quiet ? get( rest + ( rest.indexOf( '?' ) < 0 ? '?' : '&' ) + 'ids=' + need.join( ',' ) ).catch( function () {
				quiet = Date.now() + 6e4;
			} ) : null;
			return Promise.resolve( titles ).then( function ( j ) {
				if ( j ) {
					need.forEach( function ( id ) {
						posts[ prefix + id ] = 0;
					} );
					( j.posts || [] ).forEach( function ( p ) {
						posts[ prefix + p.id ] = p;
					} );
				}
				show( lists, top, r[ 1 ], asked );
			} );
		} ).catch( function () {
			all( '[data-presence-error]' ).forEach( function ( l ) {
				l.textContent = '';
				add( l, 'p', 'presence-error', l.getAttribute( 'data-presence-error' ) );
				l.removeAttribute( 'data-presence-shown' );
			} );
			// No answer is no "nobody": an earlier empty state goes (the items stay).
			lists.forEach( function ( l ) {
				if ( l.querySelector( '.presence-popular-empty' ) ) {
					l.textContent = '';
					l.removeAttribute( 'data-presence-shown' );
				}
			} );
		} ).then( function () {
			busy = 0;
			if ( again ) {
				again = 0;
				soon();
			}
		} );
	}

	// The text for n readers: the list's plural form for n in the page's language, if any.
	function form( l, tpl, n ) {
		return ( plural && l.getAttribute( 'data-presence-template-' + plural.select( n ) ) ) || tpl;
	}

	function add( parent, tag, cls, text ) {
		var e = d.createElement( tag );
		e.className = cls;
		e.textContent = text;
		return parent.appendChild( e );
	}

	function show( lists, top, stats, asked ) {
		// The page's own reader is counted once presence.js has said `viewing`: until then,
		// an answer without its post is older than the page, and never "nobody".
		var stale = own && ! top.some( function ( p ) {
			return p.post_id == own;
		} );
		var anyone = top.length > 0;
		// Counts pushed over the socket since the question are newer than the answer: they
		// win (presence.js only fills badges without a count, and pushes only changes).
		top = top.map( function ( p ) {
			var x = live[ p.post_id ];
			return x && x.t > asked ? { post_id: p.post_id, viewers: x.n } : p;
		} ).filter( function ( p ) {
			return p.viewers > 0;
		} ).sort( function ( x, y ) {
			return y.viewers - x.viewers || ( String( y.post_id ) > String( x.post_id ) ? 1 : -1 );
		} );
		// Once an answer had the page's own post (listed here or not), or it is no post this
		// site lists, its count changes need no new /api/top: pushes keep the badges live.
		ownSeen = ownSeen || ! stale || posts[ own ] === 0;
		lists.forEach( function ( l ) {
			var items = top.filter( function ( p ) {
				return posts[ p.post_id ];
			} ).slice( 0, +l.getAttribute( 'data-presence-top' ) || 5 );
			var tpl = l.getAttribute( 'data-presence-template' ) || '{total} reading';
			// Three states: items; nobody reads anywhere ("Nobody…"); someone reads, but
			// nothing listable here (a page, a draft, another site): an empty box.
			var key = JSON.stringify( [ items, anyone ] );
			if ( l.getAttribute( 'data-presence-shown' ) == key || ( ! items.length && stale ) ) {
				return;
			}
			l.setAttribute( 'data-presence-shown', key );
			l.textContent = '';
			if ( ! items.length ) {
				if ( ! anyone ) {
					add( l, 'p', 'presence-popular-empty', l.getAttribute( 'data-presence-empty' ) || '' );
				}
				return;
			}
			var ol = add( l, 'ol', 'presence-popular-list', '' );
			items.forEach( function ( p ) {
				var li = add( ol, 'li', '', '' );
				var a = add( li, 'a', '', posts[ p.post_id ].title );
				li.setAttribute( 'data-post-id', p.post_id );
				li.setAttribute( 'data-presence-count', p.viewers );
				a.href = posts[ p.post_id ].link;
				li.appendChild( d.createTextNode( ' ' ) );
				var b = add( li, 'span', 'presence-badge', form( l, tpl, p.viewers ).replace( /\{total\}|\{n\}/g, p.viewers.toLocaleString( lang ) ) );
				b.setAttribute( 'data-presence-viewers', '' );
				b.setAttribute( 'data-post-id', p.post_id );
				b.setAttribute( 'data-presence-template', tpl.replace( /\{n\}/g, '{total}' ) );
				// The list's plural forms (data-presence-template-few…), which presence.js picks.
				Array.prototype.forEach.call( l.attributes, function ( at ) {
					if ( /^data-presence-template-/.test( at.name ) ) {
						b.setAttribute( at.name, at.value );
					}
				} );
				if ( p.post_id == own ) {
					// presence.js fills the page's own post like its own count: alone is "zero".
					b.setAttribute( 'data-presence-zero', tpl.replace( /\{total\}|\{n\}/g, '1' ) );
				}
				b.setAttribute( 'data-presence-count', p.viewers );
				b.setAttribute( 'aria-live', 'polite' );
			} );
		} );
		if ( stats && ! ( own && ! stats.viewers ) ) {
			[ [ 'viewers', stats.viewers ], [ 'posts', stats.posts ] ].forEach( function ( f ) {
				all( '[data-presence-stats-' + f[ 0 ] + ']' ).forEach( function ( e ) {
					e.textContent = ( +f[ 1 ] || 0 ).toLocaleString( lang );
					e.setAttribute( 'data-presence-count', +f[ 1 ] || 0 );
				} );
			} );
		}
	}

	// The smallest count a full list shows (Infinity: none is full, so a listable post with
	// readers would be listed already).
	function least() {
		var m = Infinity;
		all( '[data-presence-top]' ).forEach( function ( l ) {
			var li = l.querySelectorAll( 'li[data-post-id]' );
			if ( li.length && li.length >= ( +l.getAttribute( 'data-presence-top' ) || 5 ) ) {
				m = Math.min( m, +li[ li.length - 1 ].getAttribute( 'data-presence-count' ) );
			}
		} );
		return m;
	}

	// Counts pushed over presence.js's socket: keep the items in step, in order.
	function pushed( a ) {
		var id = a[ 1 ];
		var n = +a[ 2 ];
		live[ id ] = { n: n, t: Date.now() };
		var items = all( '[data-presence-top] li[data-post-id]' ).filter( function ( li ) {
			return li.getAttribute( 'data-post-id' ) == id;
		} );
		items.forEach( function ( li ) {
			var ol = li.parentNode;
			li.setAttribute( 'data-presence-count', n );
			Array.prototype.slice.call( ol.children ).sort( function ( x, y ) {
				var c = y.getAttribute( 'data-presence-count' ) - x.getAttribute( 'data-presence-count' );
				return c || ( y.getAttribute( 'data-post-id' ) > x.getAttribute( 'data-post-id' ) ? 1 : -1 );
			} ).forEach( function ( e ) {
				ol.appendChild( e );
			} );
		} );
		// Asks again when a listed post loses its last reader, and once for the page's own
		// post, which may enter the lists: not on every change of its count (review M2).
		if ( ( items.length && n < 1 ) || ( id == own && ! items.length && n > 0 && ( ! ownSeen || ( posts[ own ] && n > least() ) ) ) ) {
			soon();
		}
	}

	function hook() {
		var p = w.presence;
		if ( hooked || ! p ) {
			return !! hooked;
		}
		var before = p.on;
		hooked = 1;
		p.on = function ( a ) {
			if ( before ) {
				before( a );
			}
			if ( a[ 0 ] == 'viewers' ) {
				pushed( a );
			}
		};
		return true;
	}

	// presence.js loads beside this script, possibly later: hook into it when it arrives.
	var wait = setInterval( function () {
		if ( hook() || ++tries > 240 ) {
			clearInterval( wait );
		}
	}, 250 );
	var every = Math.min.apply( null, all( '[data-presence-refresh]' ).map( function ( l ) {
		return +l.getAttribute( 'data-presence-refresh' ) || 1;
	} ).concat( [ 60 ] ) ) * 1e3;
	// Within every `every` while the page is visible: after 70–90 % of it, at random (pages
	// opened together do not ask together, and with the answer's way back a new post is
	// listed within `every`); a tab coming back asks at once, unless it asked within `every`.
	function tick() {
		setTimeout( function () {
			if ( ! d.hidden ) {
				refresh();
			}
			tick();
		}, every * ( 0.7 + Math.random() / 5 ) );
	}
	tick();
	d.addEventListener( 'visibilitychange', function () {
		if ( ! d.hidden && Date.now() - last >= every ) {
			refresh();
		}
	} );
	refresh();
}( window, document ) );
