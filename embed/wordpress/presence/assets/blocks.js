/**
 * Presence: the editor side of the "Readers now" and "Popular now" blocks. Plain JavaScript
 * on WordPress's globals (no build step). Both blocks are dynamic: the editor shows the
 * server's preview (ServerSideRender) and saves only the attributes.
 */
( function ( wp ) {
	if ( ! wp || ! wp.blocks || ! wp.element ) {
		return;
	}
	var el = wp.element.createElement;
	var __ = wp.i18n && wp.i18n.__ ? wp.i18n.__ : function ( text ) { return text; };
	var editor = wp.blockEditor || wp.editor || {};
	var c = wp.components || {};
	var SSR = wp.serverSideRender || c.ServerSideRender || ( wp.editor && wp.editor.ServerSideRender );
	var useBlockProps = editor.useBlockProps;
	var Inspector = editor.InspectorControls;

	function wrap( props, name, inside ) {
		var attrs = useBlockProps ? useBlockProps() : { className: 'wp-block-presence-' + name };
		return el( 'div', attrs, inside );
	}

	function preview( name, props ) {
		return SSR ? el( SSR, { block: 'presence/' + name, attributes: props.attributes } ) : null;
	}

	function text( props, key, label, help ) {
		return el( c.TextControl, {
			label: label,
			help: help,
			value: props.attributes[ key ] || '',
			onChange: function ( value ) {
				var change = {};
				change[ key ] = value;
				props.setAttributes( change );
			}
		} );
	}

	function panel( title, children ) {
		// Children as arguments, not an array: no "key" needed.
		return Inspector && c.PanelBody ? el( Inspector, null, el.apply( null, [ c.PanelBody, { title: title } ].concat( children ) ) ) : null;
	}

	var settings = {
		'readers-now': {
			title: __( 'Readers now', 'presence' ),
			description: __( 'How many people are reading this post right now, live.', 'presence' ),
			icon: 'visibility',
			category: 'widgets',
			edit: function ( props ) {
				return el( wp.element.Fragment, null,
					panel( __( 'Texts', 'presence' ), [
						text( props, 'several', __( 'Several readers', 'presence' ), __( '{total}: everyone reading, the reader included; {n}: the others. Empty: "{total} people reading".', 'presence' ) ),
						text( props, 'one', __( 'One other reader', 'presence' ), __( 'Empty: the text for several.', 'presence' ) ),
						text( props, 'alone', __( 'The reader alone', 'presence' ), __( 'Empty: "Just you".', 'presence' ) ),
						c.ToggleControl ? el( c.ToggleControl, {
							label: __( 'Show the total views', 'presence' ),
							checked: !! props.attributes.showViews,
							onChange: function ( value ) { props.setAttributes( { showViews: value } ); }
						} ) : null
					] ),
					wrap( props, 'readers-now', preview( 'readers-now', props ) )
				);
			},
			save: function () { return null; }
		},
		'popular-now': {
			title: __( 'Popular now', 'presence' ),
			description: __( 'The posts read most right now, with live counts.', 'presence' ),
			icon: 'chart-bar',
			category: 'widgets',
			edit: function ( props ) {
				return el( wp.element.Fragment, null,
					panel( __( 'List', 'presence' ), [ c.RangeControl ? el( c.RangeControl, {
						label: __( 'Number of posts', 'presence' ),
						min: 1,
						max: 20,
						value: props.attributes.limit || 5,
						onChange: function ( value ) { props.setAttributes( { limit: value || 5 } ); }
					} ) : null ] ),
					wrap( props, 'popular-now', preview( 'popular-now', props ) )
				);
			},
			save: function () { return null; }
		}
	};

	Object.keys( settings ).forEach( function ( name ) {
		var full = 'presence/' + name;
		var known = wp.blocks.getBlockType && wp.blocks.getBlockType( full );
		if ( known ) {
			return;
		}
		// block.json (WordPress 5.5+) registered the metadata on the server, translated: the
		// editor merges it in, and only edit and save come from here (plus apiVersion 1 for
		// an editor without useBlockProps). Older versions take everything from here.
		var meta = settings[ name ];
		if ( window.presenceBlockJson ) {
			meta = { edit: meta.edit, save: meta.save };
			if ( ! useBlockProps ) {
				meta.apiVersion = 1;
			}
			wp.blocks.registerBlockType( full, meta );
			return;
		}
		meta.apiVersion = useBlockProps ? 3 : 1;
		meta.attributes = name === 'readers-now' ? {
			several: { type: 'string', default: '' },
			one: { type: 'string', default: '' },
			alone: { type: 'string', default: '' },
			showViews: { type: 'boolean', default: false }
		} : { limit: { type: 'integer', default: 5 } };
		wp.blocks.registerBlockType( full, meta );
	} );
}( window.wp ) );
